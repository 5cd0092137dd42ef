//! The node store against a model that is obviously right: a sorted set of full paths.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::tree::node::NodeStat;

fn node(name: &str) -> Node {
    Node::new(name, Some(name.as_bytes()), 0, NodeStat::default()).unwrap()
}

fn store() -> NodeStore {
    let mut s = NodeStore::default();
    s.insert_root(node("")).unwrap();
    s
}

/// The path of `id`, rebuilt from parent links only.
fn path_of(s: &NodeStore, mut id: NodeId) -> String {
    let mut segments = Vec::new();
    while Some(id) != s.root() {
        let n = s.node(id).unwrap();
        segments.push(n.name().to_string());
        id = n.links.parent;
    }
    segments.reverse();
    format!("/{}", segments.join("/"))
}

fn parent_of(p: &str) -> &str {
    crate::tree::path::parent(p)
}

#[derive(Debug, Clone)]
enum Step {
    /// Create child `name` under the `i`-th existing path (modulo their number).
    Create(usize, String),
    /// Delete the `i`-th existing path (modulo their number), refused if it has children.
    Delete(usize),
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (any::<usize>(), "[abc]{1,2}").prop_map(|(i, n)| Step::Create(i, n)),
        2 => any::<usize>().prop_map(Step::Delete),
    ]
}

fn check(s: &NodeStore, model: &BTreeSet<String>) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.len(), model.len());
    let mut seen = BTreeSet::new();
    for p in model {
        let id = s.lookup(p);
        prop_assert!(id.is_some(), "{} is in the model but not found", p);
        let id = id.unwrap();
        prop_assert!(seen.insert(id), "two paths share id {}", id);
        prop_assert_eq!(&path_of(s, id), p);
        let mut children: Vec<String> = s
            .children(id)
            .map(|c| s.node(c).unwrap().name().to_string())
            .collect();
        children.sort();
        let expected: Vec<String> = model
            .iter()
            .filter(|c| *c != "/" && parent_of(c) == p.as_str())
            .map(|c| crate::tree::path::name(c).to_string())
            .collect();
        prop_assert_eq!(s.node(id).unwrap().num_children(), expected.len());
        prop_assert_eq!(children, expected);
        for c in s.children(id) {
            prop_assert_eq!(s.node(c).unwrap().links.parent, id);
        }
    }
    prop_assert_eq!(s.iter().count(), model.len());
    Ok(())
}

#[test]
fn odd_paths_name_no_node() {
    let mut s = store();
    let root = s.root().unwrap();
    let a = s.insert(root, node("a")).unwrap();
    s.insert(a, node("b")).unwrap();
    assert_eq!(s.lookup("/"), Some(root));
    assert_eq!(s.lookup("/a"), Some(a));
    assert!(s.lookup("/a/b").is_some());
    for p in [
        "", "a", "/a/", "//a", "/a//b", "/a/b/", "/b", "a/b", "/a/b/c",
    ] {
        assert_eq!(s.lookup(p), None, "{p:?}");
    }
}

#[test]
fn refusals_leave_the_store_unchanged() {
    let mut s = store();
    let root = s.root().unwrap();
    let a = s.insert(root, node("a")).unwrap();
    assert_eq!(s.insert(root, node("a")), Err(LinkError::Exists));
    assert_eq!(s.insert(77, node("x")), Err(LinkError::NoParent));
    s.insert(a, node("b")).unwrap();
    assert_eq!(s.remove(a).err(), Some(LinkError::NotEmpty));
    assert_eq!(s.insert_root(node("")), Err(LinkError::Exists));
    assert_eq!(s.remove(99).err(), Some(LinkError::Missing));
    assert_eq!(s.len(), 3);
}

proptest! {
    /// After any create/delete sequence, lookups, parent links, child lists and counts agree
    /// with the set of paths, and refused steps change nothing.
    #[test]
    fn store_matches_a_set_of_paths(steps in prop::collection::vec(arb_step(), 0..120)) {
        let mut s = store();
        let mut model: BTreeSet<String> = BTreeSet::from(["/".to_string()]);
        for step in steps {
            let paths: Vec<String> = model.iter().cloned().collect();
            match step {
                Step::Create(i, name) => {
                    let parent = &paths[i % paths.len()];
                    let p = crate::tree::path::join(parent, &name);
                    let pid = s.lookup(parent).unwrap();
                    let r = s.insert(pid, node(&name));
                    if model.contains(&p) {
                        prop_assert_eq!(r, Err(LinkError::Exists));
                    } else {
                        prop_assert!(r.is_ok());
                        model.insert(p);
                    }
                }
                Step::Delete(i) => {
                    let p = &paths[i % paths.len()];
                    let id = s.lookup(p).unwrap();
                    let has_children = model.iter().any(|c| c != "/" && parent_of(c) == p.as_str());
                    let r = s.remove(id);
                    if has_children {
                        prop_assert_eq!(r.err(), Some(LinkError::NotEmpty));
                    } else {
                        let n = r.unwrap();
                        prop_assert_eq!(n.data(), Some(n.name().as_bytes()));
                        model.remove(p);
                        if p == "/" {
                            prop_assert_eq!(s.root(), None);
                            s.insert_root(node("")).unwrap();
                            model.insert("/".to_string());
                        }
                    }
                }
            }
            check(&s, &model)?;
        }
    }
}
