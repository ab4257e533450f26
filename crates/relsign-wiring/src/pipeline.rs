//! The stages and actions of the template's CodePipeline, in run order, with the CodeBuild
//! project each action runs.

use serde_json::Value;

use crate::{Error, Template};

#[derive(Debug, Clone)]
pub struct Action {
    pub stage: String,
    /// Position of the stage; actions of one stage with the same run order run in parallel.
    pub stage_index: usize,
    pub run_order: u64,
    pub name: String,
    /// ActionTypeId's Category (Source, Build, Test, Deploy, Approval, Invoke).
    pub category: String,
    pub provider: String,
    pub namespace: Option<String>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// Logical id of the CodeBuild project, for CodeBuild actions.
    pub project: Option<String>,
    pub primary_source: Option<String>,
    /// The raw `EnvironmentVariables` configuration value (a string holding JSON, if right).
    pub environment: Option<Value>,
    /// The whole `Configuration`, as written.
    pub configuration: serde_json::Map<String, Value>,
}

/// One `{name, value, type}` of an action's EnvironmentVariables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    pub kind: String,
}

pub struct Pipeline {
    pub id: String,
    /// The stage names, in order (a stage with no action is listed too).
    pub stages: Vec<String>,
    pub actions: Vec<Action>,
}

impl Pipeline {
    /// The template's one `AWS::CodePipeline::Pipeline`.
    pub fn of(t: &Template) -> Result<Pipeline, Error> {
        let mut pipelines = t.resources().filter(|(_, ty, _)| *ty == "AWS::CodePipeline::Pipeline");
        let Some((id, _, _)) = pipelines.next() else {
            return Err(Error::shape(t.name(), "no AWS::CodePipeline::Pipeline resource"));
        };
        if pipelines.next().is_some() {
            return Err(Error::shape(t.name(), "more than one pipeline; expected one"));
        }
        let stages = t
            .property(id, &["Stages"])
            .and_then(Value::as_array)
            .ok_or_else(|| Error::shape(t.name(), format!("{id} has no Stages list")))?;
        let mut actions = Vec::new();
        let mut stage_names = Vec::new();
        for (stage_index, stage) in stages.iter().enumerate() {
            let stage_name = str_of(stage.get("Name")).unwrap_or_default();
            stage_names.push(stage_name.clone());
            for a in stage.get("Actions").and_then(Value::as_array).into_iter().flatten() {
                let config = a.get("Configuration");
                actions.push(Action {
                    stage: stage_name.clone(),
                    stage_index,
                    run_order: a.get("RunOrder").and_then(Value::as_u64).unwrap_or(1),
                    name: str_of(a.get("Name")).unwrap_or_default(),
                    category: str_of(a.get("ActionTypeId").and_then(|t| t.get("Category")))
                        .unwrap_or_default(),
                    provider: str_of(a.get("ActionTypeId").and_then(|t| t.get("Provider")))
                        .unwrap_or_default(),
                    namespace: str_of(a.get("Namespace")),
                    inputs: names(a.get("InputArtifacts")),
                    outputs: names(a.get("OutputArtifacts")),
                    project: config.and_then(|c| c.get("ProjectName")).and_then(reference),
                    primary_source: str_of(config.and_then(|c| c.get("PrimarySource"))),
                    environment: config.and_then(|c| c.get("EnvironmentVariables")).cloned(),
                    configuration: config.and_then(Value::as_object).cloned().unwrap_or_default(),
                });
            }
        }
        Ok(Pipeline { id: id.to_string(), stages: stage_names, actions })
    }

    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Actions that run before `a` (earlier stage, or same stage and lower run order).
    pub fn before<'a>(&'a self, a: &'a Action) -> impl Iterator<Item = &'a Action> {
        self.actions.iter().filter(move |b| {
            b.stage_index < a.stage_index || (b.stage_index == a.stage_index && b.run_order < a.run_order)
        })
    }
}

impl Action {
    /// `Stage.Action`, as problems name it.
    pub fn path(&self) -> String {
        format!("{}.{}", self.stage, self.name)
    }

    /// A boolean configuration key (CodePipeline takes them as the strings "true"/"false").
    pub fn flag(&self, key: &str) -> bool {
        match self.configuration.get(key) {
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            Some(Value::Bool(b)) => *b,
            _ => false,
        }
    }

    /// The action's EnvironmentVariables, parsed as CodePipeline parses them: a string that
    /// holds a JSON array of `{name, value, type}`.
    pub fn env_vars(&self) -> Result<Vec<EnvVar>, String> {
        let Some(env) = &self.environment else { return Ok(Vec::new()) };
        let Value::String(text) = env else {
            return Err(
                "EnvironmentVariables must be a string holding JSON (CodePipeline rejects a YAML list)"
                    .into(),
            );
        };
        let parsed: Value =
            serde_json::from_str(text).map_err(|e| format!("EnvironmentVariables is not JSON: {e}"))?;
        let items = parsed.as_array().ok_or("EnvironmentVariables is not a JSON array")?;
        let mut out = Vec::new();
        for item in items {
            let obj = item.as_object().ok_or("an EnvironmentVariables entry is not an object")?;
            let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            if keys != ["name", "type", "value"] {
                return Err(format!(
                    "an EnvironmentVariables entry has keys {keys:?}; expected name, value, type"
                ));
            }
            let field =
                |k: &str| obj[k].as_str().map(str::to_string).ok_or(format!("{k} is not a string in {item}"));
            let var = EnvVar { name: field("name")?, value: field("value")?, kind: field("type")? };
            if !["PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"].contains(&var.kind.as_str()) {
                return Err(format!(
                    "{} has type {:?}; expected PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER",
                    var.name, var.kind
                ));
            }
            out.push(var);
        }
        Ok(out)
    }
}

/// The `#{Namespace.Variable}` references in a value.
pub fn references(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("#{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        if let Some((ns, var)) = after[..end].split_once('.') {
            out.push((ns.to_string(), var.to_string()));
        } else {
            out.push((after[..end].to_string(), String::new()));
        }
        rest = &after[end + 1..];
    }
    out
}

fn str_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

fn names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(|a| str_of(a.get("Name"))).collect()
}

/// The logical id a `Ref` or `Fn::GetAtt` points at.
pub(crate) fn reference(v: &Value) -> Option<String> {
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return Some(r.to_string());
    }
    v.get("Fn::GetAtt").and_then(|g| g.get(0)).and_then(Value::as_str).map(str::to_string)
}
