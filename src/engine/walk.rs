//! The bounded parallel walk of a dependency graph: a node runs when everything it
//! depends on has succeeded, at most `parallelism` at once; a failed node stops only the
//! nodes that depend on it (they are reported skipped) and the others finish.

use std::future::Future;

use futures_util::stream::{FuturesUnordered, StreamExt};

#[derive(Debug, Clone, PartialEq)]
pub enum NodeOutcome<T, E> {
    Done(T),
    Failed(E),
    /// Not run because the node with this index (a dependency) failed or was skipped.
    Skipped(usize),
}

impl<T, E> NodeOutcome<T, E> {
    pub fn is_done(&self) -> bool {
        matches!(self, NodeOutcome::Done(_))
    }
}

/// Walks nodes `0..deps.len()`, where `deps[i]` lists the nodes `i` waits for. The graph
/// must be acyclic (callers check with petgraph first); nodes on a cycle would never run
/// and come back skipped.
pub async fn walk<T, E, F, Fut>(deps: &[Vec<usize>], parallelism: usize, run: F) -> Vec<NodeOutcome<T, E>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let n = deps.len();
    let parallelism = parallelism.max(1);
    let mut outcomes: Vec<Option<NodeOutcome<T, E>>> = (0..n).map(|_| None).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = vec![0; n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if d < n && d != i {
                dependents[d].push(i);
                waiting[i] += 1;
            }
        }
    }
    // Lowest index first, so runs are deterministic when parallelism is 1.
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < parallelism {
            let Some(i) = ready.pop_first() else { break };
            let fut = run(i);
            running.push(async move { (i, fut.await) });
        }
        let Some((i, result)) = running.next().await else { break };
        match result {
            Ok(v) => {
                outcomes[i] = Some(NodeOutcome::Done(v));
                for &d in &dependents[i] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 && outcomes[d].is_none() {
                        ready.insert(d);
                    }
                }
            }
            Err(e) => {
                outcomes[i] = Some(NodeOutcome::Failed(e));
                skip_dependents(i, &dependents, &mut outcomes);
            }
        }
    }
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| o.unwrap_or(NodeOutcome::Skipped(deps.get(i).and_then(|d| d.first().copied()).unwrap_or(i))))
        .collect()
}

fn skip_dependents<T, E>(failed: usize, dependents: &[Vec<usize>], outcomes: &mut [Option<NodeOutcome<T, E>>]) {
    let mut stack = vec![failed];
    while let Some(i) = stack.pop() {
        for &d in &dependents[i] {
            if outcomes[d].is_none() {
                outcomes[d] = Some(NodeOutcome::Skipped(failed));
                stack.push(d);
            }
        }
    }
}

/// The edges reversed: for destroy, a node waits for everything that depended on it.
pub fn reversed(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); deps.len()];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if d < deps.len() {
                out[d].push(i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[tokio::test]
    async fn respects_order_bound_and_isolates_failures() {
        // 0 -> 1 -> 2 ; 3 and 4 independent; 1 fails.
        let deps = vec![vec![], vec![0], vec![1], vec![], vec![]];
        let order = Mutex::new(Vec::new());
        let active = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = walk(&deps, 2, |i| {
            let order = &order;
            let active = &active;
            let peak = &peak;
            async move {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                active.fetch_sub(1, Ordering::SeqCst);
                order.lock().expect("lock").push(i);
                if i == 1 { Err("boom") } else { Ok(i) }
            }
        })
        .await;
        assert_eq!(out[0], NodeOutcome::Done(0));
        assert_eq!(out[1], NodeOutcome::Failed("boom"));
        assert_eq!(out[2], NodeOutcome::Skipped(1));
        assert!(out[3].is_done() && out[4].is_done());
        assert!(peak.load(Ordering::SeqCst) <= 2);
        let order = order.lock().expect("lock").clone();
        let pos = |x| order.iter().position(|&y| y == x);
        assert!(pos(0) < pos(1));
        assert_eq!(pos(2), None);
    }
}
