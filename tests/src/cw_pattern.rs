//! CloudWatch Logs JSON filter patterns (`{ ($.a.b = "x*") && ($.c != "y") || ... }`), as the
//! CloudWatch Logs user guide defines them, evaluated against a JSON log event: what a metric
//! filter counts. moto 5.2 evaluates only plain-text patterns (it lets every event through a
//! JSON one), so the pipeline suite needs its own reading of the documented syntax: property
//! selectors `$.a.b` and `$.a[0].b`, `=` and `!=`, quoted strings with `*` wildcards, bare
//! tokens and numbers, `&&`, `||` and parentheses, `&&` binding tighter than `||`. A selector
//! that names nothing makes its comparison false, whichever the operator (no pattern of the
//! stacks relies on either reading of that case).

use serde_json::Value;

/// Whether `event` (a JSON document) matches `pattern`. A pattern that is not a JSON pattern
/// or does not parse is an error, so a typo in a template fails the test that reads it.
pub fn matches(pattern: &str, event: &str) -> Result<bool, String> {
    let event: Value = serde_json::from_str(event).map_err(|e| format!("the event is not JSON: {e}"))?;
    let body = pattern
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .ok_or_else(|| format!("not a JSON filter pattern (no enclosing braces): {pattern}"))?;
    let tokens = tokenize(body)?;
    let mut parser = Parser { tokens, at: 0, event: &event };
    let result = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(format!("unexpected {:?} in {pattern}", parser.tokens[parser.at]));
    }
    Ok(result)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Eq,
    Ne,
    Selector(String),
    Quoted(String),
    Bare(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if two == "&&" {
            out.push(Token::And);
            i += 2;
        } else if two == "||" {
            out.push(Token::Or);
            i += 2;
        } else if two == "!=" {
            out.push(Token::Ne);
            i += 2;
        } else if c == '=' {
            out.push(Token::Eq);
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unclosed string in {text}")),
                    Some('\\') => {
                        s.push(*chars.get(i + 1).ok_or("dangling backslash")?);
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Quoted(s));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"()=!&|\"".contains(chars[i]) {
                i += 1;
            }
            if start == i {
                return Err(format!("unexpected {c:?} in {text}"));
            }
            let word: String = chars[start..i].iter().collect();
            out.push(if word.starts_with("$.") { Token::Selector(word) } else { Token::Bare(word) });
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    event: &'a Value,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, String> {
        let t = self.tokens.get(self.at).cloned().ok_or("the pattern ends too early")?;
        self.at += 1;
        Ok(t)
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut value = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            value |= self.and()?;
        }
        Ok(value)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut value = self.term()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            value &= self.term()?;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<bool, String> {
        match self.next()? {
            Token::Open => {
                let value = self.or()?;
                match self.next()? {
                    Token::Close => Ok(value),
                    other => Err(format!("expected ), got {other:?}")),
                }
            }
            Token::Selector(selector) => {
                let op = self.next()?;
                let expected = match self.next()? {
                    Token::Quoted(s) | Token::Bare(s) => s,
                    other => Err(format!("expected a value after {selector}, got {other:?}"))?,
                };
                let Some(actual) = select(self.event, &selector)? else { return Ok(false) };
                let equal = value_matches(actual, &expected);
                match op {
                    Token::Eq => Ok(equal),
                    Token::Ne => Ok(!equal),
                    other => Err(format!("expected = or != after {selector}, got {other:?}")),
                }
            }
            other => Err(format!("expected a comparison or (, got {other:?}")),
        }
    }
}

/// `$.a.b[0].c`: the value it names, None when it names nothing (or JSON null).
fn select<'v>(event: &'v Value, selector: &str) -> Result<Option<&'v Value>, String> {
    let mut v = event;
    for part in selector.trim_start_matches("$.").split('.') {
        let (name, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            match v.get(name) {
                Some(next) => v = next,
                None => return Ok(None),
            }
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let index: usize =
                index.trim_end_matches(']').parse().map_err(|_| format!("bad index in {selector}"))?;
            match v.get(index) {
                Some(next) => v = next,
                None => return Ok(None),
            }
        }
    }
    Ok(if v.is_null() { None } else { Some(v) })
}

fn value_matches(actual: &Value, expected: &str) -> bool {
    let text = match actual {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return false,
    };
    glob(expected, &text)
}

/// `*` matches any run of characters, everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"eventName": "GetSecretValue", "n": 3,
        "userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/r"}}},
        "resources": [{"ARN": "arn:aws:kms:k"}]}"#;

    #[test]
    fn the_documented_forms_evaluate() {
        let m = |p: &str| matches(p, EVENT).unwrap();
        assert!(m(r#"{ $.eventName = "GetSecretValue" }"#));
        assert!(m(r#"{ $.eventName = "Get*" }"#));
        assert!(m(r#"{ $.eventName = "*Secret*" }"#));
        assert!(!m(r#"{ $.eventName = "Put*" }"#));
        assert!(m(r#"{ $.eventName != "PutSecretValue" }"#));
        assert!(m("{ $.n = 3 }"));
        assert!(m(r#"{ $.resources[0].ARN = "arn:aws:kms:*" }"#));
        assert!(m(r#"{ $.userIdentity.sessionContext.sessionIssuer.arn = "arn:aws:iam::1:role/r" }"#));
        // && binds tighter than ||; parentheses group.
        assert!(m(r#"{ $.eventName = "x" && $.n = 4 || $.n = 3 }"#));
        assert!(!m(r#"{ $.eventName = "x" && ($.n = 4 || $.n = 3) }"#));
        // A selector naming nothing is false both ways.
        assert!(!m(r#"{ $.missing = "x" }"#));
        assert!(!m(r#"{ $.missing != "x" }"#));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert!(matches("GetSecretValue", EVENT).is_err());
        assert!(matches(r#"{ ($.eventName = "x" }"#, EVENT).is_err());
        assert!(matches(r#"{ $.eventName = }"#, EVENT).is_err());
        assert!(matches(r#"{ $.eventName = "x }"#, EVENT).is_err());
    }
}
