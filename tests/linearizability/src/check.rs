//! The search. Operations become call and return events ordered by time; the search repeatedly
//! tries to linearize a pending call at the front, and backtracks when it reaches a return whose
//! call was never linearized.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification.
pub trait Model {
    type State: Clone + Ord + Hash + Debug;
    type Input: Debug;
    type Output: Debug;

    fn init(&self) -> Self::State;

    /// The states the operation may leave behind when applied to `state` and answered with
    /// `output`; `None` means the outcome is unknown (the call timed out or the connection was
    /// lost), so the operation may have taken effect or not. Empty: not possible from `state`.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Vec<Self::State>;
}

/// One operation as a client saw it. Times are any monotonic clock shared by all clients.
#[derive(Debug, Clone)]
pub struct Op<I, O> {
    pub client: usize,
    pub call: u64,
    /// `None`: never answered; it may take effect at any time after `call`.
    pub ret: Option<u64>,
    pub input: I,
    pub output: Option<O>,
}

/// No order of the operations respects both real time and the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The operations of the longest linearizable prefix the search found.
    pub linearized: usize,
    /// A completed operation that could not be placed.
    pub stuck_at: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "history is not linearizable: after {} operations no order can place {}",
            self.linearized, self.stuck_at
        )
    }
}

struct Event {
    op: usize,
    is_call: bool,
}

/// Fixed-size bit set (the linearized operations), hashable for the memo.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

type States<M> = BTreeSet<<M as Model>::State>;

fn step_all<M: Model>(
    m: &M,
    states: &States<M>,
    input: &M::Input,
    output: Option<&M::Output>,
) -> States<M> {
    states
        .iter()
        .flat_map(|s| m.step(s, input, output))
        .collect()
}

/// Checks one history (all operations on the same object).
pub fn check<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> Result<(), Violation> {
    let n = ops.len();
    // Events: calls and returns by time; at equal times calls first (concurrent, never ordered
    // by accident). Unanswered operations return after everything.
    let mut order: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        order.push((op.call, 0, i));
        order.push((op.ret.unwrap_or(u64::MAX), 1, i));
    }
    order.sort();
    let events: Vec<Event> = order
        .iter()
        .map(|&(_, kind, op)| Event {
            op,
            is_call: kind == 0,
        })
        .collect();
    let m = events.len();
    // Doubly linked list over events; index m is the head sentinel.
    const NIL: usize = usize::MAX;
    let mut next: Vec<usize> = (1..=m).map(|i| if i < m { i } else { NIL }).collect();
    next.push(if m > 0 { 0 } else { NIL });
    let mut prev: Vec<usize> = (0..m).map(|i| if i == 0 { m } else { i - 1 }).collect();
    prev.push(NIL);
    let mut ret_of = vec![0usize; n];
    for (idx, e) in events.iter().enumerate() {
        if !e.is_call {
            ret_of[e.op] = idx;
        }
    }
    let head = m;
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, q) = (prev[e], next[e]);
        next[p] = q;
        if q != NIL {
            prev[q] = p;
        }
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, q) = (prev[e], next[e]);
        next[p] = e;
        if q != NIL {
            prev[q] = e;
        }
    };

    let mut linearized = Bits::new(n);
    let mut done = 0usize;
    let mut best = 0usize;
    let mut stuck = 0usize;
    let mut memo: HashSet<(Bits, States<M>)> = HashSet::new();
    let mut stack: Vec<(usize, States<M>)> = Vec::new();
    let mut state: States<M> = BTreeSet::from([model.init()]);
    let mut cur = next[head];
    while next[head] != NIL {
        if cur == NIL {
            // Only reachable if every remaining entry is a call we could not place and no return
            // follows: impossible, as each call's return comes after it.
            break;
        }
        let e = &events[cur];
        if e.is_call {
            let op = &ops[e.op];
            let after = step_all(model, &state, &op.input, op.output.as_ref());
            if !after.is_empty() {
                linearized.set(e.op);
                if memo.insert((linearized.clone(), after.clone())) {
                    stack.push((cur, std::mem::replace(&mut state, after)));
                    unlink(&mut next, &mut prev, ret_of[e.op]);
                    unlink(&mut next, &mut prev, cur);
                    done += 1;
                    best = best.max(done);
                    cur = next[head];
                    continue;
                }
                linearized.clear(e.op);
            }
            cur = next[cur];
        } else {
            // The deepest return the search could not pass names the culprit.
            if done >= best {
                best = done;
                stuck = e.op;
            }
            let Some((call, before)) = stack.pop() else {
                let op = &ops[stuck];
                return Err(Violation {
                    linearized: best,
                    stuck_at: format!(
                        "client {} {:?} -> {:?} (called at {}, returned at {:?})",
                        op.client, op.input, op.output, op.call, op.ret
                    ),
                });
            };
            let op = events[call].op;
            state = before;
            linearized.clear(op);
            done -= 1;
            relink(&mut next, &mut prev, call);
            relink(&mut next, &mut prev, ret_of[op]);
            cur = next[call];
        }
    }
    Ok(())
}

/// An operation of model `M`.
pub type ModelOp<M> = Op<<M as Model>::Input, <M as Model>::Output>;

/// Checks a history of operations on many independent objects, each on its own.
pub fn check_partitioned<M: Model, K: Ord + Clone + Debug>(
    model: &M,
    ops: &[(K, ModelOp<M>)],
) -> Result<(), (K, Violation)>
where
    M::Input: Clone,
    M::Output: Clone,
{
    let mut by_key: BTreeMap<K, Vec<ModelOp<M>>> = BTreeMap::new();
    for (k, op) in ops {
        by_key.entry(k.clone()).or_default().push(op.clone());
    }
    for (k, ops) in by_key {
        check(model, &ops).map_err(|v| (k, v))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register: write(v) / read() -> v.
    struct Register;
    #[derive(Debug, Clone)]
    enum In {
        W(u32),
        R,
    }

    impl Model for Register {
        type State = u32;
        type Input = In;
        type Output = u32;
        fn init(&self) -> u32 {
            0
        }
        fn step(&self, s: &u32, i: &In, o: Option<&u32>) -> Vec<u32> {
            match (i, o) {
                (In::W(v), _) => match o {
                    None => vec![*s, *v],
                    Some(_) => vec![*v],
                },
                (In::R, Some(v)) if v == s => vec![*s],
                (In::R, None) => vec![*s],
                (In::R, Some(_)) => vec![],
            }
        }
    }

    fn op(
        client: usize,
        call: u64,
        ret: Option<u64>,
        input: In,
        output: Option<u32>,
    ) -> Op<In, u32> {
        Op {
            client,
            call,
            ret,
            input,
            output,
        }
    }

    #[test]
    fn concurrent_write_may_be_seen_either_way() {
        let h = vec![
            op(0, 0, Some(10), In::W(1), Some(0)),
            op(1, 1, Some(2), In::R, Some(1)),
            op(2, 3, Some(4), In::R, Some(1)),
        ];
        assert!(check(&Register, &h).is_ok());
        let h = vec![
            op(0, 0, Some(10), In::W(1), Some(0)),
            op(1, 1, Some(2), In::R, Some(0)),
            op(2, 3, Some(4), In::R, Some(1)),
        ];
        assert!(check(&Register, &h).is_ok());
    }

    #[test]
    fn stale_read_after_completed_write_is_a_violation() {
        let h = vec![
            op(0, 0, Some(1), In::W(1), Some(0)),
            op(1, 2, Some(3), In::R, Some(0)),
        ];
        let v = check(&Register, &h).expect_err("stale read");
        assert!(v.stuck_at.contains("R"), "{v}");
    }

    #[test]
    fn flip_flop_is_a_violation() {
        // Once a read saw 1, a later read cannot see 0 again (one write of 1 only).
        let h = vec![
            op(0, 0, Some(100), In::W(1), Some(0)),
            op(1, 1, Some(2), In::R, Some(1)),
            op(1, 3, Some(4), In::R, Some(0)),
        ];
        assert!(check(&Register, &h).is_err());
    }

    #[test]
    fn unknown_write_may_never_happen_or_happen_late() {
        let never = vec![
            op(0, 0, None, In::W(7), None),
            op(1, 5, Some(6), In::R, Some(0)),
            op(1, 7, Some(8), In::R, Some(0)),
        ];
        assert!(check(&Register, &never).is_ok());
        let late = vec![
            op(0, 0, None, In::W(7), None),
            op(1, 5, Some(6), In::R, Some(0)),
            op(1, 7, Some(8), In::R, Some(7)),
        ];
        assert!(check(&Register, &late).is_ok());
        let undone = vec![
            op(0, 0, None, In::W(7), None),
            op(1, 5, Some(6), In::R, Some(7)),
            op(1, 7, Some(8), In::R, Some(0)),
        ];
        assert!(
            check(&Register, &undone).is_err(),
            "a write cannot be undone"
        );
    }

    #[test]
    fn empty_history_is_fine() {
        assert!(check(&Register, &[]).is_ok());
    }
}
