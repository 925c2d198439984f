//! The bounded parallel walk of a dependency graph: a node runs when everything it
//! depends on has succeeded, at most `parallelism` at once; a failed node stops only the
//! nodes that depend on it (they are reported skipped) and the others finish.

use std::future::Future;

use futures_util::stream::{FuturesUnordered, StreamExt};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeOutcome<T, E> {
    Done(T),
    Failed(E),
    /// Not run because the node with this index (a dependency) failed or was skipped.
    Skipped(usize),
}

#[cfg(test)]
impl<T, E> NodeOutcome<T, E> {
    pub(crate) fn is_done(&self) -> bool {
        matches!(self, NodeOutcome::Done(_))
    }
}

/// Walks nodes `0..deps.len()`, where `deps[i]` lists the nodes `i` waits for. The graph
/// must be acyclic (callers check with petgraph first); nodes on a cycle would never run
/// and come back skipped.
pub(crate) async fn walk<T, E, F, Fut>(
    deps: &[Vec<usize>],
    parallelism: usize,
    run: F,
) -> Vec<NodeOutcome<T, E>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let n = deps.len();
    let parallelism = parallelism.max(1);
    let mut outcomes: Vec<Option<NodeOutcome<T, E>>> = (0..n).map(|_| None).collect();
    let dependents = dependents_of(deps);
    let mut waiting: Vec<usize> = deps
        .iter()
        .enumerate()
        .map(|(i, ds)| ds.iter().filter(|&&d| d < n && d != i).count())
        .collect();
    // Of the nodes ready, the one with the longest chain of dependents goes first (the
    // classic critical-path-first order: under a parallelism bound, and on a backend that
    // answers in arrival order, the chain that decides the run's length is not kept
    // waiting behind nodes nothing waits for); then the lowest index, so runs are
    // deterministic when parallelism is 1.
    let height = chain_heights(&dependents);
    let key = |i: usize| (std::cmp::Reverse(height[i]), i);
    let mut ready: std::collections::BTreeSet<(std::cmp::Reverse<usize>, usize)> =
        (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < parallelism {
            let Some((_, i)) = ready.pop_first() else {
                break;
            };
            let fut = run(i);
            running.push(async move { (i, fut.await) });
        }
        let Some((i, result)) = running.next().await else {
            break;
        };
        match result {
            Ok(v) => {
                outcomes[i] = Some(NodeOutcome::Done(v));
                for &d in &dependents[i] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 && outcomes[d].is_none() {
                        ready.insert(key(d));
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
        .map(|(i, o)| {
            o.unwrap_or(NodeOutcome::Skipped(
                deps.get(i).and_then(|d| d.first().copied()).unwrap_or(i),
            ))
        })
        .collect()
}

/// `chain_heights` of a graph given as `deps` (what each node waits for), as `walk` takes it.
pub(crate) fn chain_heights_of(deps: &[Vec<usize>]) -> Vec<usize> {
    chain_heights(&dependents_of(deps))
}

/// For each node, the nodes that wait for it (out-of-range and self edges ignored).
fn dependents_of(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = deps.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if d < n && d != i {
                dependents[d].push(i);
            }
        }
    }
    dependents
}

/// For each node, how many nodes the longest chain starting at it holds (itself and its
/// dependents, transitively). Nodes on a cycle count only what is reachable before the
/// cycle closes.
fn chain_heights(dependents: &[Vec<usize>]) -> Vec<usize> {
    let n = dependents.len();
    let mut height = vec![0usize; n];
    // 0: not visited, 1: on the stack, 2: done.
    let mut state = vec![0u8; n];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&d) = dependents[node].get(*next) {
                *next += 1;
                if state[d] == 0 {
                    state[d] = 1;
                    stack.push((d, 0));
                }
            } else {
                height[node] = 1 + dependents[node]
                    .iter()
                    .filter(|&&d| state[d] == 2)
                    .map(|&d| height[d])
                    .max()
                    .unwrap_or(0);
                state[node] = 2;
                stack.pop();
            }
        }
    }
    height
}

fn skip_dependents<T, E>(
    failed: usize,
    dependents: &[Vec<usize>],
    outcomes: &mut [Option<NodeOutcome<T, E>>],
) {
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
/// True when following `deps` (node -> the nodes it depends on) from some node leads back
/// to it.
pub(crate) fn has_cycle(deps: &[Vec<usize>]) -> bool {
    // 0: not seen, 1: on the current path, 2: done.
    let mut mark = vec![0u8; deps.len()];
    for start in 0..deps.len() {
        if mark[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = 1;
        while let Some((node, next)) = stack.pop() {
            match deps[node].get(next) {
                Some(&d) if d < deps.len() => {
                    stack.push((node, next + 1));
                    match mark[d] {
                        1 => return true,
                        0 => {
                            mark[d] = 1;
                            stack.push((d, 0));
                        }
                        _ => {}
                    }
                }
                Some(_) => stack.push((node, next + 1)),
                None => mark[node] = 2,
            }
        }
    }
    false
}

pub(crate) fn reversed(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
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

    #[test]
    fn cycles_are_found_and_chains_are_not() {
        assert!(!has_cycle(&[vec![1], vec![2], vec![]]));
        assert!(!has_cycle(&[vec![1, 2], vec![2], vec![]]));
        assert!(has_cycle(&[vec![1], vec![2], vec![0]]));
        assert!(has_cycle(&[vec![], vec![1]]));
        assert!(!has_cycle(&[]));
    }
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn chain_heights_count_the_longest_chain_of_dependents() {
        // 0 -> 1 -> 2, 0 -> 3, 4 alone (dependents lists: who waits for whom).
        let dependents = vec![vec![1, 3], vec![2], vec![], vec![], vec![]];
        assert_eq!(chain_heights(&dependents), vec![3, 2, 1, 1, 1]);
        // A cycle (refused elsewhere) does not loop forever.
        assert_eq!(chain_heights(&[vec![1], vec![0]]).len(), 2);
    }

    /// With one node at a time, the node that starts the longest chain runs first, ahead
    /// of a lower-indexed node nothing waits for; ties go by index.
    #[tokio::test]
    async fn the_longest_chain_starts_first() {
        // 0 alone; 1 -> 2 -> 3; 4 alone.
        let deps = vec![vec![], vec![], vec![1], vec![2], vec![]];
        let order = Mutex::new(Vec::new());
        walk(&deps, 1, |i| {
            let order = &order;
            async move {
                order.lock().expect("lock").push(i);
                Ok::<_, ()>(i)
            }
        })
        .await;
        // Once 2 is done, 0, 3 and 4 each end their chain: by index.
        assert_eq!(order.into_inner().expect("lock"), vec![1, 2, 0, 3, 4]);
    }

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
