//! The client file: what the client needs to prepare inputs and read outputs, written by
//! `mpcc compile` beside the plan as `PLAN.client.json` (and the tokenizer as
//! `PLAN.tokenizer.json`). It holds the task, the labels, the pooling and the tokenizer's
//! file name: public facts of the export (its `config.json`), nothing of the weights.
//!
//! The post-processing it drives (softmax and labels for a classifier, mean or CLS pooling
//! and L2 normalisation for sentence embeddings) runs on the client's revealed output, in the
//! clear: it is a function of the outputs the client learns anyway, so it reveals nothing
//! more than the logits or token embeddings already do.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format tag of the client file.
pub const CLIENT_FORMAT: &str = "mpcc-client-v1";

/// What the model answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Labels with softmax scores, one per row (`*ForSequenceClassification`).
    TextClassification,
    /// A label per token (`*ForTokenClassification`).
    TokenClassification,
    /// Token embeddings; with `--pool` sentence embeddings (`*Model`, sentence-transformers).
    FeatureExtraction,
    /// Labels with scores for an image (`*ForImageClassification`).
    ImageClassification,
}

impl Task {
    /// The task a Hugging Face `architectures` entry implies.
    pub fn from_architecture(arch: &str) -> Option<Task> {
        if arch.ends_with("ForSequenceClassification") {
            Some(Task::TextClassification)
        } else if arch.ends_with("ForTokenClassification") {
            Some(Task::TokenClassification)
        } else if arch.ends_with("ForImageClassification") {
            Some(Task::ImageClassification)
        } else if arch.ends_with("Model") && !arch.ends_with("LMHeadModel") {
            Some(Task::FeatureExtraction)
        } else {
            None
        }
    }

    /// The name as `--task` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Task::TextClassification => "text-classification",
            Task::TokenClassification => "token-classification",
            Task::FeatureExtraction => "feature-extraction",
            Task::ImageClassification => "image-classification",
        }
    }
}

/// How token embeddings become one sentence embedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Pool {
    /// The mean over the positions the attention mask keeps (sentence-transformers).
    Mean,
    /// The first token's embedding.
    Cls,
}

/// The client file's contents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// [`CLIENT_FORMAT`].
    pub format: String,
    /// The task, when known.
    pub task: Option<Task>,
    /// Label names by class index (`config.json`'s `id2label`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Sentence pooling for feature extraction.
    pub pool: Option<Pool>,
    /// L2-normalise sentence embeddings.
    #[serde(default)]
    pub normalize: bool,
    /// File name of the tokenizer, in the plan's directory.
    pub tokenizer: Option<String>,
}

/// Where the client file of the plan at `plan` lives.
pub fn client_path(plan: &Path) -> PathBuf {
    plan.with_extension("client.json")
}

/// Where the tokenizer copied for the plan at `plan` lives.
pub fn tokenizer_path(plan: &Path) -> PathBuf {
    plan.with_extension("tokenizer.json")
}

impl ClientInfo {
    /// The task and labels of an export folder's `config.json` (absent: nothing known).
    pub fn from_config(config: &Path) -> anyhow::Result<ClientInfo> {
        let mut info = ClientInfo {
            format: CLIENT_FORMAT.into(),
            ..ClientInfo::default()
        };
        if !config.exists() {
            return Ok(info);
        }
        let text = std::fs::read_to_string(config)
            .map_err(|e| anyhow::anyhow!("cannot read '{}': {e}", config.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("'{}' is not JSON: {e}", config.display()))?;
        info.task = v["architectures"].as_array().and_then(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .find_map(Task::from_architecture)
        });
        if let Some(map) = v["id2label"].as_object() {
            let mut labels: Vec<(usize, String)> = Vec::new();
            for (k, name) in map {
                let i: usize = k.parse().map_err(|_| {
                    anyhow::anyhow!("'{}': id2label key '{k}' is not an index", config.display())
                })?;
                labels.push((i, name.as_str().unwrap_or_default().to_string()));
            }
            labels.sort();
            if labels.iter().enumerate().any(|(j, (i, _))| *i != j) {
                anyhow::bail!("'{}': id2label does not number 0..n", config.display());
            }
            info.labels = labels.into_iter().map(|(_, n)| n).collect();
        }
        Ok(info)
    }

    /// Reads a client file.
    pub fn load(path: &Path) -> anyhow::Result<ClientInfo> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read the client file '{}': {e}", path.display())
        })?;
        let info: ClientInfo = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("'{}' is not a client file: {e}", path.display()))?;
        if info.format != CLIENT_FORMAT {
            anyhow::bail!(
                "'{}' has format '{}', this mpcc reads '{CLIENT_FORMAT}'; recompile the model",
                path.display(),
                info.format
            );
        }
        Ok(info)
    }

    /// The name of class `i`: its label, else `LABEL_i`.
    pub fn label(&self, i: usize) -> String {
        self.labels
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("LABEL_{i}"))
    }
}

/// Softmax of each row of `logits` (`rows x classes`), the `top_k` classes by score.
pub fn top_classes(logits: &[f64], classes: usize, top_k: usize) -> Vec<Vec<(usize, f64)>> {
    logits
        .chunks(classes.max(1))
        .map(|row| {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|x| (x - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let mut p: Vec<(usize, f64)> = e.iter().map(|x| x / s).enumerate().collect();
            p.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            p.truncate(top_k.max(1));
            p
        })
        .collect()
}

/// Sentence embeddings from token embeddings `[batch, seq, dim]`: the mean over the
/// positions `mask` (`[batch, seq]`) keeps, or the first token; then L2 when `normalize`.
pub fn pool(
    hidden: &[f64],
    shape: &[usize],
    mask: Option<&[f64]>,
    how: Pool,
    normalize: bool,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let [b, t, d] = shape else {
        anyhow::bail!("pooling needs token embeddings [batch, seq, dim], got {shape:?}");
    };
    let (b, t, d) = (*b, *t, *d);
    let mut out = Vec::with_capacity(b);
    for r in 0..b {
        let row = &hidden[r * t * d..(r + 1) * t * d];
        let mut v = vec![0.0; d];
        match how {
            Pool::Cls => v.copy_from_slice(&row[..d]),
            Pool::Mean => {
                let mut n = 0.0;
                for j in 0..t {
                    let m = mask.map_or(1.0, |m| m[r * t + j]);
                    for k in 0..d {
                        v[k] += m * row[j * d + k];
                    }
                    n += m;
                }
                v.iter_mut().for_each(|x| *x /= f64::max(n, 1e-9));
            }
        }
        if normalize {
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
            v.iter_mut().for_each(|x| *x /= norm);
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Architectures map to tasks; softmax scores sum to one and sort; mean pooling honours
    /// the mask and normalisation gives unit vectors.
    #[test]
    fn tasks_scores_and_pooling() {
        assert_eq!(
            Task::from_architecture("BertForSequenceClassification"),
            Some(Task::TextClassification)
        );
        assert_eq!(
            Task::from_architecture("BertModel"),
            Some(Task::FeatureExtraction)
        );
        assert_eq!(Task::from_architecture("GPT2LMHeadModel"), None);
        let top = top_classes(&[1.0, 3.0, 2.0, 0.0, 0.0, 0.0], 3, 2);
        assert_eq!(top[0][0].0, 1);
        assert_eq!(top[0][1].0, 2);
        assert!((top[1][0].1 - 1.0 / 3.0).abs() < 1e-12);
        let h = [1.0, 2.0, 3.0, 4.0, 100.0, 100.0];
        let p = pool(&h, &[1, 3, 2], Some(&[1.0, 1.0, 0.0]), Pool::Mean, false).unwrap();
        assert_eq!(p[0], vec![2.0, 3.0]);
        let p = pool(&h, &[1, 3, 2], Some(&[1.0, 1.0, 0.0]), Pool::Mean, true).unwrap();
        assert!((p[0][0].hypot(p[0][1]) - 1.0).abs() < 1e-12);
        assert_eq!(
            pool(&h, &[1, 3, 2], None, Pool::Cls, false).unwrap()[0],
            vec![1.0, 2.0]
        );
    }
}
