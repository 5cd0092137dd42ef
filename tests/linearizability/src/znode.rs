//! The sequential specification of one znode under versioned operations, as ZooKeeper defines
//! them: create fails if it exists, set and delete check the expected version (-1 matches any),
//! a set bumps the version, a create after a delete starts again at version 0.

use crate::check::Model;

/// One znode: absent, or its data with its data version.
pub type State = Option<(Vec<u8>, i32)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Create(Vec<u8>),
    /// Read data and version (after a sync, where reads must be linearizable).
    Get,
    Set {
        data: Vec<u8>,
        version: i32,
    },
    Delete {
        version: i32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Ok,
    /// get's answer.
    Data(Vec<u8>, i32),
    /// set's answer: the new version.
    Version(i32),
    NoNode,
    NodeExists,
    BadVersion,
}

pub struct Znode;

fn matches(expected: i32, actual: i32) -> bool {
    expected == -1 || expected == actual
}

/// The one correct answer and next state for an operation.
fn apply(s: &State, i: &Input) -> (Output, State) {
    match (i, s) {
        (Input::Create(_), Some(_)) => (Output::NodeExists, s.clone()),
        (Input::Create(d), None) => (Output::Ok, Some((d.clone(), 0))),
        (Input::Get, None) => (Output::NoNode, None),
        (Input::Get, Some((d, v))) => (Output::Data(d.clone(), *v), s.clone()),
        (Input::Set { .. }, None) => (Output::NoNode, None),
        (Input::Set { data, version }, Some((_, v))) if matches(*version, *v) => {
            (Output::Version(v + 1), Some((data.clone(), v + 1)))
        }
        (Input::Set { .. }, Some(_)) => (Output::BadVersion, s.clone()),
        (Input::Delete { .. }, None) => (Output::NoNode, None),
        (Input::Delete { version }, Some((_, v))) if matches(*version, *v) => (Output::Ok, None),
        (Input::Delete { .. }, Some(_)) => (Output::BadVersion, s.clone()),
    }
}

impl Model for Znode {
    type State = State;
    type Input = Input;
    type Output = Output;

    fn init(&self) -> State {
        None
    }

    fn step(&self, s: &State, i: &Input, o: Option<&Output>) -> Vec<State> {
        let (want, next) = apply(s, i);
        match o {
            Some(o) if *o == want => vec![next],
            Some(_) => vec![],
            // Unknown: applied, or never applied.
            None if next != *s => vec![s.clone(), next],
            None => vec![next],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Op, check};
    use proptest::prelude::*;

    fn op(client: usize, call: u64, ret: u64, input: Input, output: Output) -> Op<Input, Output> {
        Op {
            client,
            call,
            ret: Some(ret),
            input,
            output: Some(output),
        }
    }

    #[test]
    fn lost_acknowledged_set_is_caught() {
        let h = vec![
            op(0, 0, 1, Input::Create(b"a".to_vec()), Output::Ok),
            op(
                0,
                2,
                3,
                Input::Set {
                    data: b"b".to_vec(),
                    version: 0,
                },
                Output::Version(1),
            ),
            // After a crash the server answers with the old data: the acknowledged set is lost.
            op(1, 10, 11, Input::Get, Output::Data(b"a".to_vec(), 0)),
        ];
        assert!(check(&Znode, &h).is_err());
    }

    #[test]
    fn racing_conditional_sets_only_one_wins() {
        let ok = vec![
            op(0, 0, 1, Input::Create(b"a".to_vec()), Output::Ok),
            op(
                1,
                2,
                5,
                Input::Set {
                    data: b"x".to_vec(),
                    version: 0,
                },
                Output::Version(1),
            ),
            op(
                2,
                2,
                5,
                Input::Set {
                    data: b"y".to_vec(),
                    version: 0,
                },
                Output::BadVersion,
            ),
            op(0, 6, 7, Input::Get, Output::Data(b"x".to_vec(), 1)),
        ];
        assert!(check(&Znode, &ok).is_ok());
        let both = vec![
            op(0, 0, 1, Input::Create(b"a".to_vec()), Output::Ok),
            op(
                1,
                2,
                5,
                Input::Set {
                    data: b"x".to_vec(),
                    version: 0,
                },
                Output::Version(1),
            ),
            op(
                2,
                2,
                5,
                Input::Set {
                    data: b"y".to_vec(),
                    version: 0,
                },
                Output::Version(1),
            ),
        ];
        assert!(
            check(&Znode, &both).is_err(),
            "two sets cannot both win version 0"
        );
    }

    #[test]
    fn delete_then_create_restarts_versions() {
        let h = vec![
            op(0, 0, 1, Input::Create(b"a".to_vec()), Output::Ok),
            op(
                0,
                2,
                3,
                Input::Set {
                    data: b"b".to_vec(),
                    version: -1,
                },
                Output::Version(1),
            ),
            op(0, 4, 5, Input::Delete { version: 1 }, Output::Ok),
            op(0, 6, 7, Input::Create(b"c".to_vec()), Output::Ok),
            op(0, 8, 9, Input::Get, Output::Data(b"c".to_vec(), 0)),
        ];
        assert!(check(&Znode, &h).is_ok());
    }

    #[derive(Debug, Clone)]
    enum Gen {
        Create(u8),
        Get,
        Set(u8, i32),
        Delete(i32),
    }

    fn gen_op() -> impl Strategy<Value = Gen> {
        prop_oneof![
            any::<u8>().prop_map(Gen::Create),
            Just(Gen::Get),
            (any::<u8>(), -1..3i32).prop_map(|(d, v)| Gen::Set(d, v)),
            (-1..3i32).prop_map(Gen::Delete),
        ]
    }

    proptest! {
        /// Any history produced by really running the operations one after another, with
        /// arbitrary overlapping real-time windows around each, is linearizable; and changing
        /// one completed answer of a sequential history makes it not linearizable, unless the
        /// changed answer happens to be what that op would return anyway.
        #[test]
        fn sequential_executions_pass_and_tampering_fails(
            ops in proptest::collection::vec(gen_op(), 1..40),
            widths in proptest::collection::vec(0u64..30, 40),
            tamper in any::<prop::sample::Index>(),
        ) {
            let mut state: State = None;
            let mut hist = Vec::new();
            let mut seq = Vec::new();
            for (i, g) in ops.iter().enumerate() {
                let input = match g {
                    Gen::Create(d) => Input::Create(vec![*d]),
                    Gen::Get => Input::Get,
                    Gen::Set(d, v) => Input::Set { data: vec![*d], version: *v },
                    Gen::Delete(v) => Input::Delete { version: *v },
                };
                let (out, next) = apply(&state, &input);
                state = next;
                // The op takes effect at time 100*i; its window is widened around that point.
                let t = 100 * i as u64 + 50;
                hist.push(Op { client: i % 3, call: t - widths[i].min(49), ret: Some(t + widths[(i + 1) % 40].min(49)), input: input.clone(), output: Some(out.clone()) });
                seq.push(Op { client: 0, call: 100 * i as u64, ret: Some(100 * i as u64 + 1), input, output: Some(out) });
            }
            prop_assert!(check(&Znode, &hist).is_ok());
            let k = tamper.index(seq.len());
            let bogus = match seq[k].output.as_ref() {
                Some(Output::NoNode) => Output::NodeExists,
                _ => Output::NoNode,
            };
            seq[k].output = Some(bogus);
            prop_assert!(check(&Znode, &seq).is_err());
        }
    }
}
