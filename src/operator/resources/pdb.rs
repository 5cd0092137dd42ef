//! At most one member down through voluntary disruptions (drains, evictions): with 3 voters
//! that keeps a quorum through a node drain.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Inputs;

pub fn pod_disruption_budget(i: &Inputs) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: i.meta(i.names.pdb(), "server"),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(i.names.selector()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;

    #[test]
    fn one_member_at_a_time_of_this_ensemble_only() {
        let s = spec(serde_json::json!({"replicas": 5}));
        let pdb = with_inputs(&s, pod_disruption_budget);
        assert_owned(&pdb.metadata, "server");
        let spec = pdb.spec.unwrap();
        assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
        assert!(spec.min_available.is_none());
        let sel = spec.selector.unwrap().match_labels.unwrap();
        assert_eq!(sel["app.kubernetes.io/instance"], "zk");
    }
}
