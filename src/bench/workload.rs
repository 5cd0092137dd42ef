//! What each request loop sends, and the names of the nodes it uses.

/// The operation mix of a run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// getData of a random key.
    Get,
    /// setData of a random key.
    Set,
    /// create then delete a node of the loop's own; each counts as one operation.
    CreateDelete,
    /// 90% get, 10% set.
    Mixed,
}

/// One request type, as reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// getData
    Get,
    /// setData
    Set,
    /// create
    Create,
    /// delete
    Delete,
}

impl Op {
    /// All operations, in report order.
    pub const ALL: [Op; 4] = [Op::Get, Op::Set, Op::Create, Op::Delete];

    /// Lower-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Set => "set",
            Op::Create => "create",
            Op::Delete => "delete",
        }
    }
}

/// Share of gets in the `mixed` workload.
pub const MIXED_READ_RATIO: f64 = 0.9;

/// What one loop iteration does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Read the key.
    Get,
    /// Write the key.
    Set,
    /// Create a node and delete it again.
    CreateDelete,
}

impl Workload {
    /// The step for an iteration, given a uniform random number in `[0, 1)`.
    pub fn step(self, uniform: f64) -> Step {
        match self {
            Workload::Get => Step::Get,
            Workload::Set => Step::Set,
            Workload::CreateDelete => Step::CreateDelete,
            Workload::Mixed if uniform < MIXED_READ_RATIO => Step::Get,
            Workload::Mixed => Step::Set,
        }
    }

    /// Whether the run reads or writes the pre-created keys.
    pub fn uses_keys(self) -> bool {
        self != Workload::CreateDelete
    }
}

/// Path of key `index` under the run's base node.
pub fn key_path(base: &str, index: usize) -> String {
    format!("{base}/key-{index:08}")
}

/// Path a create-delete loop uses; unique per loop so loops never collide.
pub fn scratch_path(base: &str, session: usize, slot: usize) -> String {
    format!("{base}/cd-{session}-{slot}")
}

/// The base node of a run, unique enough that concurrent runs do not meet.
pub fn base_path(random: u64) -> String {
    format!("/zk-bench-{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_is_ninety_ten() {
        let steps: Vec<Step> = (0..100)
            .map(|i| Workload::Mixed.step(f64::from(i) / 100.0))
            .collect();
        assert_eq!(steps.iter().filter(|s| **s == Step::Get).count(), 90);
        assert_eq!(steps.iter().filter(|s| **s == Step::Set).count(), 10);
    }

    #[test]
    fn single_op_workloads() {
        assert_eq!(Workload::Get.step(0.99), Step::Get);
        assert_eq!(Workload::Set.step(0.0), Step::Set);
        assert_eq!(Workload::CreateDelete.step(0.5), Step::CreateDelete);
        assert!(!Workload::CreateDelete.uses_keys());
    }

    #[test]
    fn paths() {
        assert_eq!(base_path(0xab), "/zk-bench-00000000000000ab");
        assert_eq!(key_path("/b", 7), "/b/key-00000007");
        assert_eq!(scratch_path("/b", 1, 2), "/b/cd-1-2");
    }
}
