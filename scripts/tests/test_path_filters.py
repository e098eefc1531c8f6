"""Unit tests of scripts/path_filters.py against the examples in GitHub's filter cheat sheet."""

import pytest

from path_filters import Event, github_glob_to_regex, included, matches, triggered

# (pattern, paths that match, paths that do not) — the "Patterns to match file paths" table of
# GitHub's workflow-syntax reference, plus the non-matches its descriptions imply.
CHEAT_SHEET = [
    ("*", ["README.md", "server.rb"], ["docs/file.txt"]),
    ("*.jsx?", ["page.js", "page.jsx"], ["page.jsxx", "src/page.js"]),
    ("**", ["all/the/files.md", "README.md"], []),
    ("*.js", ["app.js", "index.js"], ["js/index.js"]),
    ("**.js", ["index.js", "js/index.js", "src/js/app.js"], ["index.ts"]),
    ("docs/*", ["docs/README.md", "docs/file.txt"], ["docs/mona/octocat.txt", "README.md"]),
    ("docs/**", ["docs/README.md", "docs/mona/octocat.txt"], ["docs", "other/docs/a.md"]),
    ("docs/**/*.md", ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/structure.md"], ["docs/a.txt"]),
    ("**/docs/**", ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"], ["documents/a.md"]),
    ("**/README.md", ["README.md", "js/README.md"], ["README.markdown"]),
    ("**/*src/**", ["a/src/app.js", "my-src/code/js/app.js"], ["src.txt"]),
    ("**/*-post.md", ["my-post.md", "path/their-post.md"], ["post.md"]),
    ("**/migrate-*.sql", ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"], ["migrate.sql"]),
]


@pytest.mark.parametrize("pattern,yes,no", CHEAT_SHEET)
def test_cheat_sheet_examples(pattern, yes, no):
    for path in yes:
        assert matches(pattern, path), f"{pattern!r} should match {path!r}"
    for path in no:
        assert not matches(pattern, path), f"{pattern!r} should not match {path!r}"


def test_special_characters_from_the_cheat_sheet_definitions():
    assert matches("Octo*", "Octocat")
    assert matches("[CB]at", "Cat") and matches("[CB]at", "Bat") and not matches("[CB]at", "Hat")
    assert matches("[1-2]00", "100") and matches("[1-2]00", "200") and not matches("[1-2]00", "300")
    assert matches("ab+c", "abc") and matches("ab+c", "abbbc") and not matches("ab+c", "ac")
    assert matches(r"a\*b", "a*b") and not matches(r"a\*b", "axb")


def test_dots_and_regex_metacharacters_are_literal():
    assert not matches("Cargo.lock", "Cargoxlock")
    assert matches("contracts/*-user-service.json", "contracts/order-service-user-service.json")
    assert not matches("contracts/*-user-service.json", "contracts/nested/a-user-service.json")


def test_invalid_character_class_is_rejected():
    with pytest.raises(ValueError):
        github_glob_to_regex("[!a]x")


def test_negation_excludes_and_order_matters():
    # GitHub's example: '*.md' then '!README.md'.
    patterns = ["*.md", "!README.md"]
    assert included("hello.md", patterns)
    assert not included("README.md", patterns)
    assert not included("docs/hello.md", patterns)
    # GitHub's example: '*.md', '!README.md', 'README*' — the later positive pattern re-includes.
    patterns = ["*.md", "!README.md", "README*"]
    assert included("hello.md", patterns)
    assert included("README.md", patterns)
    assert included("README.doc", patterns)


def test_negation_alone_includes_nothing():
    assert not included("a.rs", ["!a.rs"])


WORKFLOW = {
    True: {  # how PyYAML reads a bare `on:` key
        "pull_request": {"paths": ["svc/**"]},
        "push": {"branches": ["main"], "tags": ["svc-v*"], "paths": ["svc/**"]},
    }
}


def test_push_to_main_honours_paths():
    assert triggered(WORKFLOW, Event("push", "branch", "main", ("svc/a.rs",)))
    assert not triggered(WORKFLOW, Event("push", "branch", "main", ("other/a.rs",)))


def test_push_to_other_branch_is_filtered_by_branch():
    assert not triggered(WORKFLOW, Event("push", "branch", "feature", ("svc/a.rs",)))


def test_tag_pushes_ignore_path_filters():
    assert triggered(WORKFLOW, Event("push", "tag", "svc-v1.2.3", ()))
    assert not triggered(WORKFLOW, Event("push", "tag", "other-v1.2.3", ()))


def test_tag_pattern_star_does_not_cross_slashes():
    assert not triggered(WORKFLOW, Event("push", "tag", "svc-v1/evil", ()))


def test_only_tags_defined_means_branch_pushes_do_not_trigger():
    wf = {"on": {"push": {"tags": ["v*"]}}}
    assert not triggered(wf, Event("push", "branch", "main", ("a",)))
    assert triggered(wf, Event("push", "tag", "v1", ()))


def test_paths_ignore():
    wf = {"on": {"pull_request": {"paths-ignore": ["docs/**"]}}}
    assert not triggered(wf, Event("pull_request", "branch", "main", ("docs/a.md",)))
    assert triggered(wf, Event("pull_request", "branch", "main", ("docs/a.md", "src/a.rs")))


def test_event_not_listed_does_not_trigger():
    assert not triggered({"on": ["push"]}, Event("pull_request", "branch", "main", ("a",)))
