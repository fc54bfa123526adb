//! A small Rust scanner for the tidy checks: tokens with their line, comments dropped, every
//! string, char and number literal one token (so braces and arrows inside them are not
//! seen), and the `match` expressions of a file with their own arms.

/// The kind of a token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// An identifier or keyword (raw identifiers keep their `r#`).
    Ident,
    /// A string, byte string, raw string, char or number literal.
    Literal,
    /// A lifetime or label.
    Lifetime,
    /// Punctuation; `::`, `=>`, `->`, `..`, `..=` and the two-character comparisons are
    /// one token.
    Punct,
}

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// Its kind.
    pub kind: Kind,
    /// Its text.
    pub text: String,
    /// The 1-based line it starts on.
    pub line: usize,
}

impl Token {
    /// Whether it is the identifier or punctuation `text` (never a literal).
    pub fn is(&self, text: &str) -> bool {
        self.kind != Kind::Literal && self.text == text
    }
}

const PUNCT2: &[&str] = &["::", "=>", "->", "..", "==", "!=", "<=", ">=", "&&", "||"];

/// Tokenizes Rust source.
pub fn tokenize(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |j: usize| c.get(j).copied().unwrap_or('\0');
    while i < c.len() {
        let start = i;
        let start_line = line;
        let kind;
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
            continue;
        } else if ch.is_whitespace() {
            i += 1;
            continue;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            continue;
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
            continue;
        } else if let Some(len) = raw_string_prefix(&c, i) {
            // r"..", r#".."#, br"..": no escapes; ends at `"` followed by the hashes.
            let hashes = len - 1 - usize::from(ch == 'b') - 1;
            i += len;
            loop {
                if i >= c.len() {
                    break;
                }
                if c[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                    i += 1 + hashes;
                    break;
                }
                line += usize::from(c[i] == '\n');
                i += 1;
            }
            kind = Kind::Literal;
        } else if ch == '"' || (ch == 'b' && at(i + 1) == '"') {
            i += if ch == 'b' { 2 } else { 1 };
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 1;
            kind = Kind::Literal;
        } else if ch == '\'' || (ch == 'b' && at(i + 1) == '\'') {
            let q = if ch == 'b' { i + 1 } else { i };
            if at(q + 1) == '\\' {
                i = q + 3; // past the backslash and the escaped char
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
                kind = Kind::Literal;
            } else if at(q + 2) == '\'' {
                i = q + 3;
                kind = Kind::Literal;
            } else {
                i = q + 1;
                while i < c.len() && is_ident_char(c[i]) {
                    i += 1;
                }
                kind = Kind::Lifetime;
            }
        } else if ch.is_ascii_digit() {
            while i < c.len()
                && (is_ident_char(c[i]) || (c[i] == '.' && at(i + 1).is_ascii_digit()))
            {
                i += 1;
            }
            kind = Kind::Literal;
        } else if ch == 'r' && at(i + 1) == '#' && is_ident_start(at(i + 2)) {
            i += 2;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            kind = Kind::Ident;
        } else if is_ident_start(ch) {
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            kind = Kind::Ident;
        } else {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            i += if c[i..].starts_with(&['.', '.', '=']) {
                3
            } else if PUNCT2.contains(&two.as_str()) {
                2
            } else {
                1
            };
            kind = Kind::Punct;
        }
        out.push(Token {
            kind,
            text: c[start..i.min(c.len())].iter().collect(),
            line: start_line,
        });
    }
    out
}

fn is_ident_start(ch: char) -> bool {
    ch == '_' || ch.is_alphabetic()
}

fn is_ident_char(ch: char) -> bool {
    ch == '_' || ch.is_alphanumeric()
}

/// The length of a raw string's opening (`r"`, `r#"`, `br##"`, ...) at `i`, if one is there.
fn raw_string_prefix(c: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    while c.get(j) == Some(&'#') {
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some(j + 1 - i)
}

/// One arm of a `match`.
#[derive(Debug)]
pub struct Arm {
    /// The line of its first token.
    pub line: usize,
    /// The pattern and guard, tokens joined by spaces.
    pub pattern: String,
    /// The pattern (or guard) names an `Op::` variant.
    pub names_op: bool,
    /// The pattern matches anything: `_` or a bare binding, with or without a guard.
    pub catch_all: bool,
}

/// One `match` expression and its own arms (not those of matches nested in it).
#[derive(Debug)]
pub struct Match {
    /// The line of the `match` keyword.
    pub line: usize,
    /// Its arms.
    pub arms: Vec<Arm>,
}

impl Match {
    /// An arm names an `Op::` variant, so the match is over `mpcc_ir::Op` (or over a
    /// value holding one, such as `Option<&Op>`).
    pub fn over_op(&self) -> bool {
        self.arms.iter().any(|a| a.names_op)
    }
}

/// Every `match` expression of the source.
pub fn matches(src: &str) -> Vec<Match> {
    let t = tokenize(src);
    let mut out = Vec::new();
    for i in 0..t.len() {
        let after_dot = i > 0 && t[i - 1].is(".");
        if t[i].kind == Kind::Ident && t[i].text == "match" && !after_dot {
            if let Some(m) = parse_match(&t, i) {
                out.push(m);
            }
        }
    }
    out
}

/// The index of the token that closes the group opened at `open`.
fn close_of(t: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, tok) in t.iter().enumerate().skip(open) {
        if tok.kind != Kind::Punct {
            continue;
        }
        match tok.text.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    t.len()
}

/// Skips one token or one bracketed group (and a turbofish `::<..>`), returning the next
/// index.
fn skip(t: &[Token], j: usize) -> usize {
    if t[j].is("(") || t[j].is("[") || t[j].is("{") {
        return close_of(t, j) + 1;
    }
    if t[j].is("::") && t.get(j + 1).is_some_and(|n| n.is("<")) {
        let mut depth = 0usize;
        let mut k = j + 1;
        while k < t.len() {
            if t[k].is("<") {
                depth += 1;
            } else if t[k].is(">") {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            } else if t[k].is("(") || t[k].is("[") || t[k].is("{") {
                k = close_of(t, k);
            }
            k += 1;
        }
        return k;
    }
    j + 1
}

fn parse_match(t: &[Token], kw: usize) -> Option<Match> {
    // The scrutinee ends at the first `{` outside brackets (Rust forbids struct literals
    // there).
    let mut j = kw + 1;
    while j < t.len() && !t[j].is("{") {
        j = skip(t, j);
    }
    let end = close_of(t, j);
    if j >= t.len() || end >= t.len() {
        return None;
    }
    let mut arms = Vec::new();
    let mut j = j + 1;
    while j < end {
        while j < end && t[j].is("#") {
            j = skip(t, j + 1); // an attribute on the arm
        }
        let start = j;
        while j < end && !t[j].is("=>") {
            j = skip(t, j);
        }
        if j >= end {
            break;
        }
        arms.push(arm(&t[start..j]));
        j += 1;
        if j < end && t[j].is("{") {
            j = close_of(t, j) + 1;
            if j < end && t[j].is(",") {
                j += 1;
            }
        } else {
            while j < end && !t[j].is(",") {
                j = skip(t, j);
            }
            j += 1;
        }
    }
    Some(Match {
        line: t[kw].line,
        arms,
    })
}

fn arm(p: &[Token]) -> Arm {
    let names_op = p
        .windows(3)
        .any(|w| w[0].is("Op") && w[1].is("::") && w[2].kind == Kind::Ident);
    let mut pat: Vec<&Token> = p.iter().take_while(|tok| !tok.is("if")).collect();
    if pat.first().is_some_and(|tok| tok.is("|")) {
        pat.remove(0);
    }
    let binding = |tok: &Token| {
        let lower = tok
            .text
            .starts_with(|ch: char| ch == '_' || ch.is_lowercase());
        tok.kind == Kind::Ident && lower && !["true", "false", "ref", "mut"].contains(&&*tok.text)
    };
    let texts: Vec<&str> = pat.iter().map(|tok| tok.text.as_str()).collect();
    let catch_all = match texts.as_slice() {
        [_] => binding(pat[0]),
        ["ref", _] | ["mut", _] => binding(pat[1]),
        ["ref", "mut", _] => binding(pat[2]),
        [_, "@", "_"] => binding(pat[0]),
        _ => false,
    };
    let pattern = p.iter().map(|tok| tok.text.as_str()).collect::<Vec<_>>();
    Arm {
        line: p.first().map_or(0, |tok| tok.line),
        pattern: pattern.join(" "),
        names_op,
        catch_all,
    }
}

/// Whether the tokens of `needle` occur, in order and adjacent, among `hay`'s.
pub fn contains_tokens(hay: &[Token], needle: &str) -> bool {
    let n = tokenize(needle);
    let same = |a: &Token, b: &Token| a.kind == b.kind && a.text == b.text;
    !n.is_empty()
        && hay
            .windows(n.len())
            .any(|w| w.iter().zip(&n).all(|(a, b)| same(a, b)))
}
