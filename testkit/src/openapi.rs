//! The OpenAPI drift check: the served document must equal the committed `openapi.json`.

use std::path::Path;

/// Set this variable to rewrite the committed file from the served document instead of failing.
pub const UPDATE_ENV: &str = "UPDATE_OPENAPI";

/// Compares the document a service serves with the file committed at `committed`.
///
/// With [`UPDATE_ENV`] set, writes the served document (pretty-printed, trailing newline) to
/// the file and passes; otherwise panics with the first differing line when they differ.
pub fn assert_matches_committed(served: &serde_json::Value, committed: &Path) {
    compare_or_update(served, committed, std::env::var_os(UPDATE_ENV).is_some());
}

fn compare_or_update(served: &serde_json::Value, committed: &Path, update: bool) {
    let pretty =
        serde_json::to_string_pretty(served).expect("serialise the OpenAPI document") + "\n";
    if update {
        std::fs::write(committed, &pretty).expect("write the committed OpenAPI document");
        return;
    }
    let on_disk = std::fs::read_to_string(committed).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}. Run the tests with {UPDATE_ENV}=1 to create it.",
            committed.display()
        )
    });
    if on_disk != pretty {
        let first_diff = on_disk
            .lines()
            .zip(pretty.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}: committed `{a}`, served `{b}`", i + 1))
            .unwrap_or_else(|| "the files differ in length".to_owned());
        panic!(
            "the served OpenAPI document differs from {} ({first_diff}).\n\
             If the API change is intended, rerun with {UPDATE_ENV}=1 and commit the file.",
            committed.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::compare_or_update;

    fn committed(text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("openapi-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, text).expect("write a committed file");
        path
    }

    #[test]
    fn an_identical_document_passes() {
        let doc = json!({"openapi": "3.1.0", "paths": {}});
        let path = committed(&(serde_json::to_string_pretty(&doc).expect("JSON") + "\n"));
        compare_or_update(&doc, &path, false);
    }

    #[test]
    #[should_panic(expected = "differs from")]
    fn a_changed_document_fails() {
        let path = committed("{\n  \"openapi\": \"3.1.0\",\n  \"paths\": {}\n}\n");
        compare_or_update(
            &json!({"openapi": "3.1.0", "paths": {"/x": {}}}),
            &path,
            false,
        );
    }
}
