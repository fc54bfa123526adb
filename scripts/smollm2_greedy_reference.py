# Greedy reference for SmolLM2-135M-Instruct generation with onnxruntime and the KV-cache
# export: python3 scripts/smollm2_greedy_reference.py DIR tests/fixtures/smollm2_greedy.json
# (DIR from shared/models/smollm2/make.sh). Makes reference data only; no test runs Python.
import json, numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
import sys
D=sys.argv[1]
tok=Tokenizer.from_file(f'{D}/tokenizer.json')
sess=ort.InferenceSession(f'{D}/model_with_past.onnx')
ins=[i for i in sess.get_inputs()]
names=[o.name for o in sess.get_outputs()]
prompts=["The capital of France is","The largest planet in the solar system is","Water boils at a temperature of","The first president of the United States was","Two plus two equals"]
out=[]
for text in prompts:
    ids=tok.encode(text, add_special_tokens=False).ids
    past={i.name:np.zeros((1,3,0,64),np.float32) for i in ins if i.name.startswith('past')}
    seq=list(ids); new=[]; margins=[]
    feed_ids=ids
    pos0=0
    for step in range(8):
        n=len(feed_ids)
        feed={'input_ids':np.array([feed_ids],np.int64),'attention_mask':np.ones((1,pos0+n),np.int64),'position_ids':np.arange(pos0,pos0+n,dtype=np.int64)[None]}
        feed.update(past)
        feed={k:v for k,v in feed.items() if k in [i.name for i in ins]}
        r=sess.run(None,feed)
        lo=r[0][0,-1]; s=np.sort(lo)
        t=int(lo.argmax()); new.append(t); margins.append(float(s[-1]-s[-2]))
        for nm,v in zip(names[1:],r[1:]): past[nm.replace('present','past_key_values')]=v
        pos0+=n; feed_ids=[t]
    out.append({"prompt":text,"prompt_ids":ids,"new_ids":new,"text":tok.decode(new),"margins":margins})
    print(text,'->',repr(tok.decode(new)), [round(m,3) for m in margins])
json.dump({"format":"mpcc-generation-reference-v1","model":"SmolLM2-135M-Instruct model_with_past.onnx","decoding":"greedy, onnxruntime "+ort.__version__+", prompt without special tokens, 8 new tokens","prompts":out},open(sys.argv[2],'w'),indent=1)
