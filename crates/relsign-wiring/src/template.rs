//! A CloudFormation template as JSON, with the YAML short forms (`!Ref`, `!Sub`, `!If`, ...)
//! turned into their long forms, and just enough of CloudFormation's evaluation (parameters,
//! conditions, rules, `Ref`, `Fn::Sub`, `Fn::If`) to know what a property becomes at deploy time.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::Error;

/// Parameter values given at deploy time, and pseudo parameters such as `AWS::Region`.
pub type Params = BTreeMap<String, String>;

pub struct Template {
    root: Value,
    name: String,
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source })?;
        Template::parse(&path.display().to_string(), &text)
    }

    /// `name` only labels errors.
    pub fn parse(name: &str, text: &str) -> Result<Template, Error> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text)
            .map_err(|e| Error::Yaml { what: name.to_string(), message: e.to_string() })?;
        let root = to_json(yaml).map_err(|m| Error::shape(name, m))?;
        if !root.get("Resources").is_some_and(Value::is_object) {
            return Err(Error::shape(name, "no Resources mapping: not a CloudFormation template"));
        }
        Ok(Template { root, name: name.to_string() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn root(&self) -> &Value {
        &self.root
    }

    /// Resources by logical id, with their type.
    pub fn resources(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.root["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, r)| (id.as_str(), r.get("Type").and_then(Value::as_str).unwrap_or(""), r))
    }

    /// Logical ids of the resources of one type.
    pub fn ids_of(&self, ty: &str) -> Vec<String> {
        self.resources().filter(|(_, t, _)| *t == ty).map(|(id, _, _)| id.to_string()).collect()
    }

    pub fn resource(&self, id: &str) -> Option<&Value> {
        self.root["Resources"].get(id)
    }

    /// `Properties.<path>` of a resource.
    pub fn property<'a>(&'a self, id: &str, path: &[&str]) -> Option<&'a Value> {
        let mut v = self.resource(id)?.get("Properties")?;
        for key in path {
            v = v.get(key)?;
        }
        Some(v)
    }

    pub fn is_parameter(&self, name: &str) -> bool {
        self.root.get("Parameters").and_then(|p| p.get(name)).is_some()
    }

    /// A parameter's value: the one given, else its default.
    pub fn parameter(&self, params: &Params, name: &str) -> Option<String> {
        if let Some(v) = params.get(name) {
            return Some(v.clone());
        }
        match self.root.get("Parameters")?.get(name)?.get("Default")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// What a property evaluates to as a string, or None when it depends on something only
    /// known after deployment (a resource's ARN, say).
    pub fn resolve(&self, params: &Params, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next()?;
                match k.as_str() {
                    "Ref" => {
                        let name = arg.as_str()?;
                        self.parameter(params, name)
                            .or_else(|| params.get(name).cloned())
                            .or_else(|| self.resource_name(params, name))
                    }
                    "Fn::Sub" => self.substitute(params, arg),
                    "Fn::If" => {
                        let [cond, yes, no] = arg.as_array()?.as_slice() else { return None };
                        let chosen = if self.condition(params, cond.as_str()?)? { yes } else { no };
                        self.resolve(params, chosen)
                    }
                    "Fn::Join" => {
                        let [delimiter, list] = arg.as_array()?.as_slice() else { return None };
                        Some(self.resolve_list(params, list)?.join(delimiter.as_str()?))
                    }
                    "Fn::Select" => {
                        let [index, list] = arg.as_array()?.as_slice() else { return None };
                        let index: usize = self.resolve(params, index)?.parse().ok()?;
                        self.resolve_list(params, list)?.into_iter().nth(index)
                    }
                    // A deploy-time attribute, when the caller supplies it as "Resource.Attribute".
                    "Fn::GetAtt" => {
                        let parts = arg.as_array()?;
                        let name = parts.iter().map(Value::as_str).collect::<Option<Vec<_>>>()?.join(".");
                        params.get(&name).cloned()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// What a list-valued expression evaluates to: a literal list or `Fn::Split`.
    fn resolve_list(&self, params: &Params, v: &Value) -> Option<Vec<String>> {
        if let Some(items) = v.as_array() {
            return items.iter().map(|item| self.resolve(params, item)).collect();
        }
        let [delimiter, text] = v.get("Fn::Split")?.as_array()?.as_slice() else { return None };
        let text = self.resolve(params, text)?;
        Some(text.split(delimiter.as_str()?).map(str::to_string).collect())
    }

    /// What `Ref` returns for the resources whose `Ref` is the name they are given.
    fn resource_name(&self, params: &Params, id: &str) -> Option<String> {
        let property = match self.resource(id)?.get("Type")?.as_str()? {
            "AWS::Logs::LogGroup" => "LogGroupName",
            "AWS::CodeBuild::Project" | "AWS::SSM::Parameter" => "Name",
            "AWS::S3::Bucket" => "BucketName",
            "AWS::ECR::Repository" => "RepositoryName",
            _ => return None,
        };
        self.resolve(params, self.property(id, &[property])?)
    }

    /// What a list item or property becomes once every `Fn::If` in front of it is decided
    /// for these parameters: the branch chosen, or None for `AWS::NoValue` (or a condition
    /// that cannot be decided).
    pub fn chosen<'a>(&self, params: &Params, v: &'a Value) -> Option<&'a Value> {
        if let Some([cond, yes, no]) = v.get("Fn::If").and_then(Value::as_array).map(Vec::as_slice) {
            let branch = if self.condition(params, cond.as_str()?)? { yes } else { no };
            return self.chosen(params, branch);
        }
        if v.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
            return None;
        }
        Some(v)
    }

    /// Whether the named condition holds for these parameters.
    pub fn condition(&self, params: &Params, name: &str) -> Option<bool> {
        let expr = self.root.get("Conditions")?.get(name)?;
        self.eval(params, expr)
    }

    /// Whether the named rule (`Rules`) lets these parameters deploy: true when its
    /// RuleCondition does not hold or every Assert does.
    pub fn rule(&self, params: &Params, name: &str) -> Option<bool> {
        let rule = self.root.get("Rules")?.get(name)?;
        if let Some(condition) = rule.get("RuleCondition") {
            if !self.eval(params, condition)? {
                return Some(true);
            }
        }
        rule.get("Assertions")?
            .as_array()?
            .iter()
            .map(|a| self.eval(params, a.get("Assert")?))
            .try_fold(true, |all, one| Some(all && one?))
    }

    fn eval(&self, params: &Params, expr: &Value) -> Option<bool> {
        let m = expr.as_object()?;
        let (k, arg) = m.iter().next()?;
        let args = arg.as_array();
        match k.as_str() {
            "Fn::Equals" => {
                let [a, b] = args?.as_slice() else { return None };
                Some(self.resolve(params, a)? == self.resolve(params, b)?)
            }
            "Fn::Not" => Some(!self.eval(params, args?.first()?)?),
            "Fn::And" => args?.iter().map(|e| self.eval(params, e)).try_fold(true, |a, b| Some(a && b?)),
            "Fn::Or" => args?.iter().map(|e| self.eval(params, e)).try_fold(false, |a, b| Some(a || b?)),
            "Condition" => self.condition(params, arg.as_str()?),
            _ => None,
        }
    }

    fn substitute(&self, params: &Params, arg: &Value) -> Option<String> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) => (a.first()?.as_str()?, a.get(1).and_then(Value::as_object)),
            _ => return None,
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            if let Some(literal) = after.strip_prefix('!') {
                // ${!Literal} is written as ${Literal}.
                let end = literal.find('}')?;
                out.push_str("${");
                out.push_str(&literal[..=end]);
                rest = &literal[end + 1..];
                continue;
            }
            let end = after.find('}')?;
            let name = &after[..end];
            let value = match vars.and_then(|v| v.get(name)) {
                Some(v) => self.resolve(params, v)?,
                None => self.parameter(params, name).or_else(|| params.get(name).cloned())?,
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// YAML to JSON, short-form tags to long-form intrinsics.
fn to_json(v: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("a mapping key is not a string: {other:?}")),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(t.value)?;
            let (key, value) = match name {
                "Ref" => ("Ref".to_string(), inner),
                "Condition" => ("Condition".to_string(), inner),
                "GetAtt" => {
                    let value = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((res, attr)) => Value::from(vec![res, attr]),
                            None => return Err(format!("!GetAtt {s} names no attribute")),
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), value)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut m = Map::new();
            m.insert(key, value);
            Value::Object(m)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "
Parameters:
  Name: {Type: String, Default: ''}
  Bucket: {Type: String}
Conditions:
  HasName: !Not [!Equals [!Ref Name, '']]
Resources:
  R:
    Type: X
    Properties:
      A: !If [HasName, !Ref Name, !Sub 's3://${Bucket}/${!Literal}']
      B: !GetAtt Role.Arn
";

    #[test]
    fn short_forms_become_intrinsics_and_resolve() {
        let t = Template::parse("t", T).unwrap();
        let a = t.property("R", &["A"]).unwrap();
        let mut p = Params::new();
        p.insert("Bucket".into(), "rel".into());
        assert_eq!(t.resolve(&p, a).as_deref(), Some("s3://rel/${Literal}"));
        p.insert("Name".into(), "n".into());
        assert_eq!(t.resolve(&p, a).as_deref(), Some("n"));
        assert_eq!(t.property("R", &["B"]).unwrap(), &serde_json::json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(t.resolve(&p, t.property("R", &["B"]).unwrap()), None);
        p.insert("Role.Arn".into(), "arn:aws:iam::1:role/r".into());
        assert_eq!(t.resolve(&p, t.property("R", &["B"]).unwrap()).as_deref(), Some("arn:aws:iam::1:role/r"));
    }

    #[test]
    fn join_select_and_split_resolve() {
        let t = Template::parse(
            "t",
            "
Parameters:
  Arn: {Type: String}
Resources:
  R:
    Type: X
    Properties:
      Name: !Select [6, !Split [':', !Ref Arn]]
      Prefix: !Join [':', [!Select [0, !Split [':', !Ref Arn]], !Select [2, !Split [':', !Ref Arn]], 'secret:']]
      Past: !Select [9, !Split [':', !Ref Arn]]
",
        )
        .unwrap();
        let mut p = Params::new();
        p.insert("Arn".into(), "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf".into());
        let get = |k: &str| t.resolve(&p, t.property("R", &[k]).unwrap());
        assert_eq!(get("Name").as_deref(), Some("k-AbCdEf"));
        assert_eq!(get("Prefix").as_deref(), Some("arn:secretsmanager:secret:"));
        assert_eq!(get("Past"), None);
    }

    #[test]
    fn rules_hold_or_refuse() {
        let t = Template::parse(
            "t",
            "
Parameters:
  A: {Type: String, Default: ''}
  B: {Type: String, Default: ''}
Rules:
  OneOf:
    Assertions:
      - Assert: !Or [!Equals [!Ref A, ''], !Equals [!Ref B, '']]
  OnlyWithA:
    RuleCondition: !Not [!Equals [!Ref A, '']]
    Assertions:
      - Assert: !Equals [!Ref B, x]
Resources: {}
",
        )
        .unwrap();
        let mut p = Params::new();
        assert_eq!(t.rule(&p, "OneOf"), Some(true));
        assert_eq!(t.rule(&p, "OnlyWithA"), Some(true));
        p.insert("A".into(), "a".into());
        assert_eq!(t.rule(&p, "OnlyWithA"), Some(false));
        p.insert("B".into(), "x".into());
        assert_eq!(t.rule(&p, "OnlyWithA"), Some(true));
        assert_eq!(t.rule(&p, "OneOf"), Some(false));
        assert_eq!(t.rule(&p, "Missing"), None);
    }

    #[test]
    fn not_a_template_is_an_error() {
        assert!(Template::parse("t", "a: b").is_err());
        assert!(Template::parse("t", "[").is_err());
    }
}
