//! `relsign generate-docs [--check] [ROOT]`: the reference parts of the documentation,
//! made from the code so they cannot drift from it (uv's pattern): the README's exit-code
//! table (from relsign-cli's `EXIT_CODES`) and docs/reference/environment.md (every
//! environment variable, from the programs' clap definitions). With `--check` it writes
//! nothing and fails when a committed file is not what the code makes; the tests run that.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const README: &str = "README.md";
const ENVIRONMENT: &str = "docs/reference/environment.md";
const BEGIN: &str =
    "<!-- made by `relsign generate-docs` from relsign-cli's EXIT_CODES: edit them there -->\n";
const END: &str = "<!-- end of the made part -->\n";

/// The programs whose flags the reference lists, each with its clap definition.
pub fn programs() -> Vec<(&'static str, clap::Command)> {
    vec![
        ("signer", signer::command()),
        ("copier", copier::command()),
        ("relsign check-pipeline", <crate::check_pipeline::Args as clap::CommandFactory>::command()),
    ]
}

pub fn main_from(args: &[std::ffi::OsString]) -> i32 {
    let mut check = false;
    let mut root = PathBuf::from(".");
    for arg in args {
        match arg.to_str() {
            Some("--check") => check = true,
            Some(a) if !a.starts_with('-') => root = PathBuf::from(a),
            _ => {
                eprintln!("relsign: usage: relsign generate-docs [--check] [ROOT] (ROOT: the repository, default .)");
                return 2;
            }
        }
    }
    match run(&root, check) {
        Ok(()) => 0,
        Err((code, line)) => {
            eprintln!("relsign: {line}");
            code
        }
    }
}

fn run(root: &Path, check: bool) -> Result<(), (i32, String)> {
    let readme_path = root.join(README);
    let readme = std::fs::read_to_string(&readme_path).map_err(|e| {
        (3, format!("cannot read {}: {e}: give the repository's root", readme_path.display()))
    })?;
    let made = [(README, readme_with_exit_codes(&readme)?), (ENVIRONMENT, environment(&programs()))];
    for (name, text) in made {
        let path = root.join(name);
        let now = std::fs::read_to_string(&path).unwrap_or_default();
        if now == text {
            continue;
        }
        if check {
            return Err((
                1,
                format!("{name} is not what the code makes: run `relsign generate-docs` and commit it"),
            ));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| (6, format!("cannot make {}: {e}", dir.display())))?;
        }
        std::fs::write(&path, text).map_err(|e| (6, format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {name}");
    }
    Ok(())
}

/// The README with the part between the markers made anew.
fn readme_with_exit_codes(readme: &str) -> Result<String, (i32, String)> {
    let (Some(b), Some(e)) = (readme.find(BEGIN), readme.find(END)) else {
        return Err((
            3,
            format!("{README} has no exit-code markers: put {BEGIN:?} and {END:?} around its table"),
        ));
    };
    Ok(format!("{}{BEGIN}{}{}", &readme[..b], relsign_cli::exit_codes_markdown(), &readme[e..]))
}

/// One row per environment variable: the flag it stands for, the commands that read it,
/// and the flag's help.
fn environment(programs: &[(&str, clap::Command)]) -> String {
    let mut rows: BTreeMap<String, (String, Vec<String>, String)> = BTreeMap::new();
    for (name, command) in programs {
        collect(name.to_string(), command, &mut rows);
    }
    let mut out = String::from(
        "# Environment variables\n\nEvery flag of `signer`, `copier` and `relsign check-pipeline` that a variable can \
         set, made by `relsign generate-docs` from their flag definitions (do not edit: the tests check it). A \
         flag given on the command line wins over its variable.\n\n| variable | flag | commands | what it sets |\n\
         |---|---|---|---|\n",
    );
    for (var, (flag, commands, help)) in rows {
        out.push_str(&format!("| `{var}` | {flag} | {} | {help} |\n", commands.join(", ")));
    }
    out
}

fn collect(
    path: String,
    command: &clap::Command,
    rows: &mut BTreeMap<String, (String, Vec<String>, String)>,
) {
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let Some(var) = arg.get_env().and_then(|v| v.to_str()) else { continue };
        let flag = match (arg.get_long(), arg.get_value_names()) {
            (Some(long), _) => format!("`--{long}`"),
            (None, Some(names)) => {
                format!("`{}`", names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "))
            }
            (None, None) => format!("`{}`", arg.get_id()),
        };
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|");
        let row = rows.entry(var.to_string()).or_insert_with(|| (flag, Vec::new(), help));
        if !row.1.contains(&format!("`{path}`")) {
            row.1.push(format!("`{path}`"));
        }
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        collect(format!("{path} {}", sub.get_name()), sub, rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example in every `--help` parses against the real flag definitions, so an
    /// example cannot name a flag that does not exist (sq checks its hints the same way).
    #[test]
    fn every_help_example_parses_with_the_real_flags() {
        let mut seen = 0;
        for (name, mut command) in programs() {
            command.build();
            let mut helps = vec![command.get_after_help().map(|h| h.to_string()).unwrap_or_default()];
            for sub in command.get_subcommands() {
                helps.push(sub.get_after_help().map(|h| h.to_string()).unwrap_or_default());
            }
            for (example, assigns) in helps.iter().flat_map(|h| examples(h, name)) {
                let words = shlex::split(&example).unwrap_or_else(|| panic!("cannot split {example:?}"));
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                let program_words = name.split(' ').count();
                let mut argv = vec![name];
                argv.extend(&words[program_words..]);
                match command.clone().try_get_matches_from(&argv) {
                    Ok(_) => {}
                    // The example sets a required flag through its variable, before the command.
                    Err(e) if assigns && e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {}
                    Err(e) => panic!("the example {example:?} does not parse: {e}"),
                }
                seen += 1;
            }
        }
        assert!(seen >= 20, "only {seen} examples found: the reader of the help texts is broken");
    }

    /// The example lines of a help text that run `program`: continuation lines joined,
    /// leading variable assignments, trailing comments and redirections dropped.
    fn examples(help: &str, program: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mut pending = String::new();
        for line in help.lines() {
            let line = line.trim();
            let joined = format!("{pending}{line}");
            if let Some(rest) = joined.strip_suffix('\\') {
                pending = rest.to_string();
                continue;
            }
            pending.clear();
            let mut words: Vec<&str> = joined.split(' ').collect();
            let mut assigns = false;
            while words.first().is_some_and(|w| w.contains('=') && !w.starts_with('-')) {
                words.remove(0);
                assigns = true;
            }
            let command = words.join(" ");
            if !command.starts_with(&format!("{program} ")) {
                continue;
            }
            let command = command.split(" # ").next().unwrap();
            let command = command.split(" > ").next().unwrap();
            out.push((command.trim().to_string(), assigns));
        }
        out
    }
}
