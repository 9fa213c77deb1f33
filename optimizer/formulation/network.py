"""Network ports per pod (contract §5)."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.formulation.index import Index


def add_network(m: pyo.ConcreteModel, index: Index) -> None:
    """existing ports + Σ ports · racks over the pod's rows ≤ the pod's ports (pods serve in
    every phase and racks only accumulate: the last phase's row is enough)."""
    site = index.site
    pods = [
        pod for pod, places in index.by_pod.items() if any(index.model(p).ports > 0 for p in places)
    ]
    m.PODS = pyo.Set(initialize=pods, ordered=True)
    fixed: dict[str, int] = {}
    for rid, model, _ in index.existing_models:
        pod = index.row[rid].pod
        if pod is not None:
            fixed[pod] = fixed.get(pod, 0) + model.ports

    @m.Constraint(m.PODS)
    def network(m: pyo.ConcreteModel, pod: str) -> object:
        ports = pyo.quicksum(
            index.model(p).ports * m.racks[p] for p in index.by_pod[pod] if index.model(p).ports
        )
        if fixed.get(pod):
            return ports + fixed[pod] <= site.pod_by_id[pod].ports
        return ports <= site.pod_by_id[pod].ports
