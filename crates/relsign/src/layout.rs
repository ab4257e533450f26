//! The house's shape, checked: within each crate, no two modules import each other,
//! directly or around a loop (a module's job can then be read without the one above it).

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The modules of a crate (its src/*.rs files) and the modules each one names through
    /// `crate::`, a root re-export (`pub use key::SigningKey` in lib.rs) counting as its module.
    fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
        let modules: BTreeSet<String> = std::fs::read_dir(src)
            .unwrap()
            .filter_map(|e| {
                let path = e.unwrap().path();
                (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_string))?
            })
            .filter(|m| m != "lib" && m != "main")
            .collect();
        let mut exported: BTreeMap<String, String> = BTreeMap::new();
        for root in ["lib.rs", "main.rs"] {
            let Ok(text) = std::fs::read_to_string(src.join(root)) else { continue };
            for (i, _) in text.match_indices("pub use ") {
                let line = text[i + "pub use ".len()..].split(';').next().unwrap();
                let Some((module, items)) = line.split_once("::") else { continue };
                for item in items.trim().trim_matches(['{', '}']).split(',') {
                    let item = item.trim().split(" as ").last().unwrap_or("").trim();
                    exported.insert(item.to_string(), module.to_string());
                }
            }
        }
        let mut graph = BTreeMap::new();
        for module in &modules {
            let text = std::fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
            // Unit tests may reach anywhere: only the code above them counts, comments not.
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let mut named = BTreeSet::new();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap().split(',').collect(),
                    None => vec![rest],
                };
                for name in names {
                    let name: String =
                        name.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    let target = match exported.get(&name) {
                        Some(m) => m.clone(),
                        None => name,
                    };
                    if modules.contains(&target) && &target != module {
                        named.insert(target);
                    }
                }
            }
            graph.insert(module.clone(), named);
        }
        graph
    }

    /// A loop of imports through `start`, if there is one.
    fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
        let mut path = vec![start.to_string()];
        fn walk(graph: &BTreeMap<String, BTreeSet<String>>, start: &str, path: &mut Vec<String>) -> bool {
            let last = path.last().unwrap().clone();
            for next in &graph[&last] {
                if next == start {
                    path.push(next.clone());
                    return true;
                }
                if !path.contains(next) {
                    path.push(next.clone());
                    if walk(graph, start, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            false
        }
        walk(graph, start, &mut path).then_some(path)
    }

    #[test]
    fn no_two_modules_import_each_other() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut checked = 0;
        let mut loops = Vec::new();
        for entry in std::fs::read_dir(&crates).unwrap() {
            let src = entry.unwrap().path().join("src");
            if !src.is_dir() {
                continue;
            }
            let graph = imports(&src);
            checked += graph.len();
            for module in graph.keys() {
                if let Some(path) = cycle(&graph, module) {
                    loops.push(format!("{}: {}", src.display(), path.join(" -> ")));
                }
            }
        }
        assert!(checked > 40, "only {checked} modules read: the reader is broken");
        assert!(loops.is_empty(), "modules importing each other:\n{}", loops.join("\n"));
    }
}
