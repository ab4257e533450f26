//! `signer check`: the preflight. With the same flags and environment as `signer sign`, it
//! reports what a run would use (the sources and their files, the AWS identity, the key and
//! the passphrase) and whether each works, unlocking the key but signing nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use relsign_cli::preflight::Report;
use relsign_cli::{Exit, Failure};
use relsign_codebuild::{check_output, check_side_file, collect, Input, OutputState};

use crate::cli::SignArgs;
use crate::settings::{input_roots, inputs, selection_options};
use crate::{key_source, kms_source};

pub fn run(args: SignArgs) -> Result<Exit, Failure> {
    let mut report = Report::default();
    let inputs = inputs(&args);
    match &inputs {
        Ok(inputs) => sources(&args, inputs, &mut report),
        Err(f) => report.failure("sources", f),
    }
    output(&args, inputs.as_deref().unwrap_or_default(), &mut report);
    exported_vars(&args, inputs.as_deref().unwrap_or_default(), &mut report);
    match &args.key.kms_key_id {
        Some(id) => kms_source::check(id, &args.key, &args.aws, &mut report),
        None => key_source::check(&args.key, &args.passphrase, &args.aws, &mut report),
    }
    // --provenance: the execution read as the run will read it.
    match crate::provenance::execution(&args) {
        Ok(Some(facts)) => report.ok(
            "provenance",
            format!(
                "execution {} of {} read: {} build(s) before this one, {} source(s)",
                facts.execution_id,
                facts.pipeline_name,
                facts.builds.len(),
                facts.sources.len()
            ),
        ),
        Ok(None) => {}
        Err(f) => report.failure("provenance", &f),
    }
    report.finish("signer", args.json)
}

/// Each source or path with the number and size of the files a run would sign.
fn sources(args: &SignArgs, inputs: &[Input], report: &mut Report) {
    let options = selection_options(args);
    let selection = match collect(inputs, &options) {
        Ok(s) => s,
        Err(e) => return report.failure("sources", &Failure::from(e)),
    };
    let mut per_input: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for a in &selection.artifacts {
        let label = match &a.source {
            Some(source) => format!("source {source}"),
            None => "paths".to_string(),
        };
        let entry = per_input.entry(label).or_default();
        entry.0 += 1;
        entry.1 += a.size;
    }
    for input in inputs {
        let label = input.source.as_ref().map(|s| format!("source {s}")).unwrap_or_else(|| "paths".into());
        let (count, _) = per_input.get(&label).copied().unwrap_or_default();
        if count == 0 && input.source.is_some() {
            report.problem(
                &label,
                Exit::Input,
                format!("{}: no file to sign", input.path.display()),
                "check that the build stage put its output in this artifact, and --include/--exclude",
            );
        }
    }
    for (label, (count, bytes)) in per_input {
        report.ok(label, format!("{count} file(s), {:.1} MiB to sign", bytes as f64 / (1 << 20) as f64));
    }
    if selection.artifacts.is_empty() {
        report.problem(
            "sources",
            Exit::Input,
            "no file to sign",
            "pass PATHs, --source, or run where CODEBUILD_SRC_DIR_* are set",
        );
    }
}

/// The output folder passes the checks `sign` makes (absent or empty, outside every
/// input), and can be created.
fn output(args: &SignArgs, inputs: &[Input], report: &mut Report) {
    let out = &args.out;
    let roots = input_roots(inputs);
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    match check_output(out, &roots) {
        Err(e) => report.failure("output", &Failure::from(e)),
        Ok(OutputState::Empty) => report.ok("output", format!("{} exists and is empty", out.display())),
        Ok(OutputState::Absent) => {
            let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            match tempfile::tempdir_in(parent.ancestors().find(|p| p.exists()).unwrap_or(parent)) {
                Ok(_) => report.ok("output", format!("{} will be created", out.display())),
                Err(e) => report.problem(
                    "output",
                    Exit::Output,
                    format!("cannot create {}: {e}", out.display()),
                    "pass an --out in a writable folder",
                ),
            }
        }
    }
}

/// `--exported-vars` lies outside every input, as `sign` requires before it reads anything:
/// inside one it would be signed with the artifacts, or overwrite one.
fn exported_vars(args: &SignArgs, inputs: &[Input], report: &mut Report) {
    let Some(path) = &args.exported_vars else { return };
    let roots = input_roots(inputs);
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    match check_side_file(path, "--exported-vars", &roots) {
        Err(e) => report.failure("exported variables", &Failure::from(e)),
        Ok(()) => report.ok("exported variables", format!("{} is outside every input", path.display())),
    }
}
