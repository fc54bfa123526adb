//! The IR's text form: one line per node, `v3 = matmul v1, v2 : sec<1x16x64,z64,f36> @ "node"`,
//! its printer (`Display for Graph`) and its parser ([`parse`]).
//!
//! Grammar, one item per line (blank lines and `#` comments are skipped):
//!
//! ```text
//! graph frac_bits=18
//! v3 = trunc {"bits":18} v2 : sec<2x2,z64,f18> @ "mm"
//! ^id  ^op   ^attributes ^operands ^type (vis<dims,ring,fscale>) ^origin (a Rust string literal)
//! v4 = softmax {"axis":1} v3 : sec<2x8,z64,f18> @ "/l.0/Softmax" {"layer":"layer.0","op_type":"Softmax"}
//! ```
//!
//! A line may end with the value's side-table facts ([`crate::facts`]) as a JSON object:
//! `op_type` and `layer` (together), and `range` (`[lo, hi]`).
//!
//! Attributes are the op's serde form as JSON (absent for ops without attributes). Numbers are
//! printed in their shortest round-trip form and parsed with correct rounding, so
//! `print → parse → print` is the identity and `parse(print(g)) == g` for graphs whose value
//! ids are the node outputs.

use crate::facts::{NodeFacts, Range};
use crate::graph::{Graph, Node, ValueId};
use crate::op::Op;
use crate::types::{Ring, ValueType, Vis};
use serde_json::{Map, Number, Value};
use std::fmt;

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "graph frac_bits={}", self.frac_bits)?;
        for node in &self.nodes {
            let attrs = attrs_json(&node.op);
            write!(f, "{} = {}", node.output, node.op.name())?;
            if let Some(a) = attrs {
                write!(f, " {a}")?;
            }
            for (i, v) in node.inputs.iter().enumerate() {
                write!(f, "{}{v}", if i == 0 { " " } else { ", " })?;
            }
            write!(f, " : {} @ {:?}", self.ty(node.output), node.origin)?;
            if let Some(facts) = facts_json(self, node.output) {
                write!(f, " {facts}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The side-table facts of `v` as a JSON object, or `None` when it has none.
fn facts_json(graph: &Graph, v: ValueId) -> Option<Value> {
    let mut m = Map::new();
    if let Some(n) = graph.node_facts(v) {
        m.insert("op_type".into(), Value::String(n.op_type.clone()));
        m.insert("layer".into(), Value::String(n.layer.to_string()));
    }
    if let Some(r) = graph.range(v) {
        let num = |x: f64| {
            Number::from_f64(x)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        };
        m.insert("range".into(), Value::Array(vec![num(r.lo), num(r.hi)]));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// Reads the facts object of one line into the graph's side tables.
fn set_facts(graph: &mut Graph, v: ValueId, facts: &Value) -> Result<(), String> {
    let Value::Object(m) = facts else {
        return Err("facts must be a JSON object".into());
    };
    for key in m.keys() {
        if !["op_type", "layer", "range"].contains(&key.as_str()) {
            return Err(format!("unknown fact '{key}' (op_type, layer, range)"));
        }
    }
    match (m.get("op_type"), m.get("layer")) {
        (Some(Value::String(op_type)), Some(Value::String(layer))) => {
            let layer = layer.parse()?;
            let op_type = op_type.clone();
            graph.facts.node.insert(v, NodeFacts { op_type, layer });
        }
        (None, None) => {}
        _ => return Err("'op_type' and 'layer' come together, as strings".into()),
    }
    if let Some(r) = m.get("range") {
        let pair = r.as_array().filter(|a| a.len() == 2);
        let nums: Option<Vec<f64>> = pair.map(|a| a.iter().filter_map(Value::as_f64).collect());
        match nums.as_deref() {
            Some(&[lo, hi]) if lo <= hi => {
                graph.facts.range.insert(v, Range { lo, hi });
            }
            _ => return Err("'range' is [lo, hi] with lo <= hi".into()),
        }
    }
    Ok(())
}

/// The op's attributes as a JSON object, or `None` for ops without attributes.
pub fn attrs_json(op: &crate::op::Op) -> Option<String> {
    let v = serde_json::to_value(op).ok()?;
    match v {
        serde_json::Value::Object(m) => m.into_iter().next().map(|(_, inner)| inner.to_string()),
        _ => None,
    }
}

/// A syntax error in the text form, with its position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) where the problem starts.
    pub column: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl std::str::FromStr for Graph {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Graph, ParseError> {
        parse(s)
    }
}

/// Parses the text form printed by `Graph`'s `Display`.
///
/// The first line that is not blank or a comment is the `graph frac_bits=N` header; each
/// further line defines one node. Value ids must be dense (`v0..vN`, each defined once, in any
/// order) and operands must name defined values. Typing rules are left to [`Graph::verify`].
pub fn parse(text: &str) -> Result<Graph, ParseError> {
    let mut graph: Option<Graph> = None;
    let mut defs: Vec<(usize, ValueType)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut c = Cursor::new(raw, i + 1);
        match graph.as_mut() {
            None => graph = Some(Graph::new(c.header()?)),
            Some(g) => {
                let (node, ty, facts) = c.node()?;
                if let Some(facts) = facts {
                    set_facts(g, node.output, &facts).map_err(|m| ParseError {
                        line: i + 1,
                        column: 1,
                        message: m,
                    })?;
                }
                defs.push((i + 1, ty));
                g.nodes.push(node);
            }
        }
    }
    let mut graph = graph.ok_or_else(|| ParseError {
        line: text.lines().count().max(1),
        column: 1,
        message: "expected the header 'graph frac_bits=N', found the end of the text".into(),
    })?;
    graph.values = dense_types(&graph.nodes, defs)?;
    Ok(graph)
}

/// Orders the node types by value id, checking that ids are dense and each defined once.
fn dense_types(
    nodes: &[Node],
    defs: Vec<(usize, ValueType)>,
) -> Result<Vec<ValueType>, ParseError> {
    let n = nodes.len();
    let err = |line: usize, message: String| ParseError {
        line,
        column: 1,
        message,
    };
    let mut values: Vec<Option<ValueType>> = vec![None; n];
    for (node, (line, ty)) in nodes.iter().zip(defs.iter()) {
        let Some(slot) = values.get_mut(node.output.index()) else {
            return Err(err(
                *line,
                format!(
                    "{} is out of range: {n} nodes define v0..v{}",
                    node.output,
                    n.saturating_sub(1)
                ),
            ));
        };
        if slot.replace(ty.clone()).is_some() {
            return Err(err(*line, format!("{} is defined twice", node.output)));
        }
    }
    for (node, (line, _)) in nodes.iter().zip(defs.iter()) {
        if let Some(v) = node.inputs.iter().find(|v| v.index() >= n) {
            return Err(err(
                *line,
                format!("operand {v} is not defined by any line"),
            ));
        }
    }
    // n unique ids below n fill every slot.
    values
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| err(1, "value ids are not dense".into()))
}

/// The op variant's serde name for its text name (`max_axis` → `MaxAxis`).
fn variant_name(name: &str) -> String {
    match name {
        "matmul" => "MatMul".into(),
        _ => name
            .split('_')
            .map(|w| {
                let mut cs = w.chars();
                cs.next()
                    .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                    .unwrap_or_default()
            })
            .collect(),
    }
}

/// Builds an op from its text name and attributes.
fn make_op(name: &str, attrs: Option<Value>) -> Result<Op, String> {
    let variant = variant_name(name);
    let json = match attrs {
        None => Value::String(variant),
        Some(a) => Value::Object(Map::from_iter([(variant, a)])),
    };
    let op: Op = serde_json::from_value(json).map_err(|e| format!("bad op '{name}': {e}"))?;
    if op.name() != name {
        return Err(format!("unknown op '{name}'"));
    }
    Ok(op)
}

/// A position in one line.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
    line_no: usize,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str, line_no: usize) -> Cursor<'a> {
        Cursor {
            line,
            pos: 0,
            line_no,
        }
    }

    fn rest(&self) -> &'a str {
        &self.line[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// An error at the current position: "expected {what}, found …".
    fn expected(&self, what: &str) -> ParseError {
        let found = match self.rest() {
            "" => "the end of the line".to_string(),
            r => format!("'{}'", r.chars().take(16).collect::<String>()),
        };
        self.error(format!("expected {what}, found {found}"))
    }

    fn error(&self, message: String) -> ParseError {
        ParseError {
            line: self.line_no,
            column: self.line[..self.pos].chars().count() + 1,
            message,
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        let ok = self.rest().starts_with(s);
        if ok {
            self.pos += s.len();
        }
        ok
    }

    fn expect(&mut self, s: &str, what: &str) -> Result<(), ParseError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.line[start..self.pos]
    }

    fn number<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, ParseError> {
        let at = self.pos;
        let digits = self.take_while(|c| c.is_ascii_digit());
        digits.parse().map_err(|_| {
            self.pos = at;
            self.expected(what)
        })
    }

    fn end(&mut self) -> Result<(), ParseError> {
        self.ws();
        if self.rest().is_empty() {
            Ok(())
        } else {
            Err(self.expected("the end of the line"))
        }
    }

    /// `graph frac_bits=N`.
    fn header(&mut self) -> Result<u32, ParseError> {
        self.ws();
        self.expect("graph", "the header 'graph frac_bits=N'")?;
        self.ws();
        self.expect("frac_bits=", "'frac_bits='")?;
        let bits = self.number("the number of fraction bits")?;
        self.end()?;
        Ok(bits)
    }

    fn value_id(&mut self, what: &str) -> Result<ValueId, ParseError> {
        if !self.eat("v") {
            return Err(self.expected(what));
        }
        Ok(ValueId(self.number(what)?))
    }

    /// `vN = name [attrs] [operands] : type @ "origin" [facts]`.
    fn node(&mut self) -> Result<(Node, ValueType, Option<Value>), ParseError> {
        self.ws();
        let output = self.value_id("a value id like 'v3' to define")?;
        self.ws();
        self.expect("=", "'=' after the value id")?;
        self.ws();
        let at = self.pos;
        let name = self.take_while(|c| c.is_ascii_lowercase() || c == '_');
        if name.is_empty() {
            return Err(self.expected("an op name"));
        }
        self.ws();
        let attrs = match self.peek() {
            Some('{') => Some(self.json()?),
            _ => None,
        };
        let op = make_op(name, attrs).map_err(|m| {
            self.pos = at;
            self.error(m)
        })?;
        let inputs = self.operands()?;
        self.expect(":", "',' and an operand, or ':' and the type")?;
        self.ws();
        let ty = self.value_type()?;
        self.ws();
        self.expect("@", "'@' and the origin")?;
        self.ws();
        let origin = self.rust_string()?;
        self.ws();
        let facts = match self.peek() {
            Some('{') => Some(self.json()?),
            _ => None,
        };
        self.end()?;
        let node = Node {
            op,
            inputs,
            output,
            origin,
        };
        Ok((node, ty, facts))
    }

    fn operands(&mut self) -> Result<Vec<ValueId>, ParseError> {
        let mut inputs = Vec::new();
        self.ws();
        if self.peek() != Some('v') {
            return Ok(inputs);
        }
        loop {
            inputs.push(self.value_id("an operand like 'v1'")?);
            self.ws();
            if !self.eat(",") {
                return Ok(inputs);
            }
            self.ws();
        }
    }

    /// `vis<d0xd1,ring,fS>`.
    fn value_type(&mut self) -> Result<ValueType, ParseError> {
        let at = self.pos;
        let name = self.take_while(|c| c.is_ascii_lowercase());
        let vis = Vis::from_name(name).ok_or_else(|| {
            self.pos = at;
            self.expected("a visibility (pub, client, owner or sec)")
        })?;
        self.expect("<", "'<' after the visibility")?;
        let mut shape = Vec::new();
        if self.peek() != Some(',') {
            shape.push(self.number("a dimension")?);
            while self.eat("x") {
                shape.push(self.number("a dimension after 'x'")?);
            }
        }
        self.expect(",", "',' after the shape")?;
        let ring = if self.eat("z64") {
            Ring::Z64
        } else if self.eat("z32") {
            Ring::Z32
        } else {
            return Err(self.expected("a ring (z64 or z32)"));
        };
        self.expect(",f", "',f' and the scale")?;
        let scale = self.number("the scale")?;
        self.expect(">", "'>' closing the type")?;
        Ok(ValueType {
            shape,
            ring,
            scale,
            vis,
        })
    }

    /// A string literal as Rust's `{:?}` prints it.
    fn rust_string(&mut self) -> Result<String, ParseError> {
        self.expect("\"", "a quoted origin")?;
        let mut s = String::new();
        loop {
            let c = self
                .bump()
                .ok_or_else(|| self.expected("'\"' closing the origin"))?;
            match c {
                '"' => return Ok(s),
                '\\' => s.push(self.rust_escape()?),
                c => s.push(c),
            }
        }
    }

    fn rust_escape(&mut self) -> Result<char, ParseError> {
        Ok(match self.bump() {
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('0') => '\0',
            Some(c @ ('\\' | '"' | '\'')) => c,
            Some('u') => {
                self.expect("{", "'{' after '\\u'")?;
                let hex = self.take_while(|c| c.is_ascii_hexdigit());
                let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                let c = c.ok_or_else(|| self.expected("a Unicode scalar value in hex"))?;
                self.expect("}", "'}' closing '\\u{'")?;
                c
            }
            _ => return Err(self.expected("an escape (\\n, \\r, \\t, \\0, \\\\, \\\", \\u{..})")),
        })
    }

    /// A JSON value. Numbers keep their exact value: integers as integers, others parsed
    /// with correct rounding.
    fn json(&mut self) -> Result<Value, ParseError> {
        self.ws();
        let v = match self.peek() {
            Some('{') => self.json_object()?,
            Some('[') => {
                self.bump();
                Value::Array(self.json_list(']', Cursor::json)?)
            }
            Some('"') => Value::String(self.json_string()?),
            Some('-' | '0'..='9') => self.json_number()?,
            _ if self.eat("true") => Value::Bool(true),
            _ if self.eat("false") => Value::Bool(false),
            _ if self.eat("null") => Value::Null,
            _ => return Err(self.expected("a JSON value")),
        };
        self.ws();
        Ok(v)
    }

    fn json_object(&mut self) -> Result<Value, ParseError> {
        self.bump();
        let entries = self.json_list('}', |c| {
            c.ws();
            let key = c.json_string()?;
            c.ws();
            c.expect(":", "':' after a JSON key")?;
            Ok((key, c.json()?))
        })?;
        Ok(Value::Object(entries.into_iter().collect()))
    }

    /// Items separated by commas up to `close`; the opening bracket is consumed.
    fn json_list<T>(
        &mut self,
        close: char,
        mut item: impl FnMut(&mut Self) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        let mut items = Vec::new();
        self.ws();
        if self.eat(&close.to_string()) {
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            self.ws();
            if self.eat(&close.to_string()) {
                return Ok(items);
            }
            self.expect(",", &format!("',' or '{close}'"))?;
        }
    }

    fn json_number(&mut self) -> Result<Value, ParseError> {
        let at = self.pos;
        let tok = self.take_while(|c| c.is_ascii_digit() || "+-.eE".contains(c));
        let is_int = !tok.contains(['.', 'e', 'E']);
        let n = match (tok.parse::<u64>(), tok.parse::<i64>(), tok.parse::<f64>()) {
            (Ok(u), _, _) if is_int => Some(Number::from(u)),
            (_, Ok(i), _) if is_int => Some(Number::from(i)),
            (_, _, Ok(f)) => Number::from_f64(f),
            _ => None,
        };
        n.map(Value::Number).ok_or_else(|| {
            self.pos = at;
            self.expected("a finite JSON number")
        })
    }

    fn json_string(&mut self) -> Result<String, ParseError> {
        self.expect("\"", "a JSON string")?;
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(self.expected("'\"' closing a JSON string")),
                Some('"') => return Ok(s),
                Some('\\') => s.push(self.json_escape()?),
                Some(c) => s.push(c),
            }
        }
    }

    fn json_escape(&mut self) -> Result<char, ParseError> {
        Ok(match self.bump() {
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some(c @ ('\\' | '"' | '/')) => c,
            Some('u') => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    self.expect("\\u", "the low half of a surrogate pair")?;
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(self.expected("the low half of a surrogate pair"));
                    }
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    char::from_u32(c).ok_or_else(|| self.expected("a valid surrogate pair"))?
                } else {
                    char::from_u32(hi).ok_or_else(|| self.expected("a Unicode scalar value"))?
                }
            }
            _ => return Err(self.expected("a JSON escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let hex: String = self.rest().chars().take(4).collect();
        if hex.len() != 4 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.expected("four hex digits"));
        }
        self.pos += 4;
        u32::from_str_radix(&hex, 16).map_err(|_| self.expected("four hex digits"))
    }
}
