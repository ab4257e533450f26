//! The IAM statements a role of the template ends up with: its inline policies, the managed
//! policies of the template it attaches, and `AWS::IAM::Policy` resources naming it. Both
//! branches of every `Fn::If` count: a right granted under any condition is granted.

use serde_json::Value;

use crate::pipeline::reference;
use crate::Template;

#[derive(Debug, Clone)]
pub struct Statement {
    /// Where it comes from: `Role/policy-name` or the managed policy's id.
    pub origin: String,
    pub allow: bool,
    pub actions: Vec<String>,
    /// Each resource as written (a string or an intrinsic).
    pub resources: Vec<Value>,
    /// NotAction or NotResource: grants by exclusion, never least privilege.
    pub negated: bool,
}

impl Statement {
    pub fn resource_is_any(&self) -> bool {
        self.resources.iter().any(|r| r.as_str() == Some("*"))
    }

    /// Whether a resource mentions `needle` (a parameter or resource name) anywhere.
    pub fn mentions(&self, needle: &str) -> bool {
        self.resources.iter().any(|r| r.to_string().contains(needle))
    }
}

pub fn role_statements(t: &Template, role: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    for policy in alternatives(t.property(role, &["Policies"])) {
        let name = policy.get("PolicyName").and_then(Value::as_str).unwrap_or("?");
        push_document(&mut out, &format!("{role}/{name}"), policy.get("PolicyDocument"));
    }
    for arn in alternatives(t.property(role, &["ManagedPolicyArns"])) {
        if let Some(id) = reference(arn) {
            if t.resource(&id).and_then(|r| r.get("Type")).and_then(Value::as_str)
                == Some("AWS::IAM::ManagedPolicy")
            {
                push_document(&mut out, &id, t.property(&id, &["PolicyDocument"]));
            }
        }
    }
    for (id, ty, _) in t.resources() {
        if ty == "AWS::IAM::Policy" {
            let roles = alternatives(t.property(id, &["Roles"]));
            if roles.iter().any(|r| reference(r).as_deref() == Some(role)) {
                push_document(&mut out, id, t.property(id, &["PolicyDocument"]));
            }
        }
    }
    out
}

fn push_document(out: &mut Vec<Statement>, origin: &str, doc: Option<&Value>) {
    let Some(doc) = doc else { return };
    for s in alternatives(doc.get("Statement")) {
        let list = |k: &str| -> Vec<Value> { alternatives(s.get(k)).into_iter().cloned().collect() };
        out.push(Statement {
            origin: origin.to_string(),
            allow: s.get("Effect").and_then(Value::as_str) != Some("Deny"),
            actions: list("Action").iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
            resources: list("Resource"),
            negated: s.get("NotAction").is_some() || s.get("NotResource").is_some(),
        });
    }
}

/// A value, a list, or an `Fn::If` of those, as the flat list of what it may become.
pub fn alternatives(v: Option<&Value>) -> Vec<&Value> {
    let mut out = Vec::new();
    if let Some(v) = v {
        collect(v, &mut out);
    }
    out
}

fn collect<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(branches) = v.get("Fn::If").and_then(Value::as_array) {
        for b in branches.iter().skip(1) {
            collect(b, out);
        }
    } else if let Some(items) = v.as_array() {
        for item in items {
            collect(item, out);
        }
    } else if v.get("Ref").and_then(Value::as_str) != Some("AWS::NoValue") {
        out.push(v);
    }
}
