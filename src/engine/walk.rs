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
    let (_never, releases) = tokio::sync::mpsc::unbounded_channel();
    let early = Early {
        soft: vec![Vec::new(); deps.len()],
        releases,
    };
    walk_early(deps, early, parallelism, run).await
}

/// Edges a running node may open before it finishes: `soft[i]` lists the nodes `i` waits
/// for only until each sends `(it, i)` on `releases` (or finishes successfully, whichever
/// comes first). A soft dependency that fails or is skipped before `i` starts skips `i`,
/// as a hard one does; once `i` has started, it runs to its end.
pub(crate) struct Early {
    pub soft: Vec<Vec<usize>>,
    pub releases: tokio::sync::mpsc::UnboundedReceiver<(usize, usize)>,
}

/// [`walk`] with early starts ([`Early`]). A node waiting for a release holds no slot of
/// `parallelism`: it is not started until every edge it waits on is open, so the
/// dependency that will release it always gets its turn.
pub(crate) async fn walk_early<T, E, F, Fut>(
    deps: &[Vec<usize>],
    early: Early,
    parallelism: usize,
    run: F,
) -> Vec<NodeOutcome<T, E>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let n = deps.len();
    let parallelism = parallelism.max(1);
    let Early { soft, mut releases } = early;
    let mut outcomes: Vec<Option<NodeOutcome<T, E>>> = (0..n).map(|_| None).collect();
    let mut started = vec![false; n];
    let hard_dependents = dependents_of(deps);
    let soft_dependents = dependents_of(&soft);
    // Soft edges still closed, as (dependency, dependent).
    let mut closed: std::collections::BTreeSet<(usize, usize)> = soft
        .iter()
        .enumerate()
        .flat_map(|(i, ds)| {
            ds.iter()
                .filter(move |&&d| d < n && d != i)
                .map(move |&d| (d, i))
        })
        .collect();
    let mut waiting: Vec<usize> = deps
        .iter()
        .enumerate()
        .map(|(i, ds)| ds.iter().filter(|&&d| d < n && d != i).count())
        .collect();
    for &(_, i) in &closed {
        waiting[i] += 1;
    }
    let all_dependents: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let mut ds = hard_dependents[i].clone();
            ds.extend(&soft_dependents[i]);
            ds
        })
        .collect();
    // Of the nodes ready, the one with the longest chain of dependents goes first (the
    // classic critical-path-first order: under a parallelism bound, and on a backend that
    // answers in arrival order, the chain that decides the run's length is not kept
    // waiting behind nodes nothing waits for); then the lowest index, so runs are
    // deterministic when parallelism is 1.
    let height = chain_heights(&all_dependents);
    let key = |i: usize| (std::cmp::Reverse(height[i]), i);
    let mut ready: std::collections::BTreeSet<(std::cmp::Reverse<usize>, usize)> =
        (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut running = FuturesUnordered::new();
    // Opens one edge into `i`; true when that was its last.
    let open = |i: usize, waiting: &mut [usize]| {
        waiting[i] -= 1;
        waiting[i] == 0
    };
    loop {
        while running.len() < parallelism {
            let Some((_, i)) = ready.pop_first() else {
                break;
            };
            started[i] = true;
            let fut = run(i);
            running.push(async move { (i, fut.await) });
        }
        if running.is_empty() {
            break;
        }
        let next = {
            let finished = std::pin::pin!(running.next());
            let released = std::pin::pin!(releases.recv());
            match futures_util::future::select(finished, released).await {
                futures_util::future::Either::Left((done, _)) => Ok(done),
                futures_util::future::Either::Right((release, _)) => Err(release),
            }
        };
        let (i, result) = match next {
            Err(Some((from, to))) => {
                if closed.remove(&(from, to)) && open(to, &mut waiting) && outcomes[to].is_none() {
                    ready.insert(key(to));
                }
                continue;
            }
            // Every sender gone: only completions are left to wait for.
            Err(None) => match running.next().await {
                Some(done) => done,
                None => break,
            },
            Ok(Some(done)) => done,
            Ok(None) => break,
        };
        // Releases a node sent before it finished count first.
        while let Ok((from, to)) = releases.try_recv() {
            if closed.remove(&(from, to)) && open(to, &mut waiting) && outcomes[to].is_none() {
                ready.insert(key(to));
            }
        }
        match result {
            Ok(v) => {
                outcomes[i] = Some(NodeOutcome::Done(v));
                for &d in &hard_dependents[i] {
                    if open(d, &mut waiting) && outcomes[d].is_none() && !started[d] {
                        ready.insert(key(d));
                    }
                }
                for &d in &soft_dependents[i] {
                    if closed.remove(&(i, d))
                        && open(d, &mut waiting)
                        && outcomes[d].is_none()
                        && !started[d]
                    {
                        ready.insert(key(d));
                    }
                }
            }
            Err(e) => {
                outcomes[i] = Some(NodeOutcome::Failed(e));
                for skipped in skip_dependents(i, &all_dependents, &started, &mut outcomes) {
                    ready.remove(&key(skipped));
                }
            }
        }
    }
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or(NodeOutcome::Skipped(
                deps.get(i)
                    .and_then(|d| d.first().copied())
                    .or_else(|| soft.get(i).and_then(|d| d.first().copied()))
                    .unwrap_or(i),
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

/// Marks skipped every node that (transitively) depends on `failed` and has not started,
/// and returns them. A node already started (through an early release) runs to its end;
/// the nodes after it are skipped all the same, as they would have been without it.
fn skip_dependents<T, E>(
    failed: usize,
    dependents: &[Vec<usize>],
    started: &[bool],
    outcomes: &mut [Option<NodeOutcome<T, E>>],
) -> Vec<usize> {
    let mut skipped = Vec::new();
    let mut seen = vec![false; dependents.len()];
    let mut stack = vec![failed];
    while let Some(i) = stack.pop() {
        for &d in &dependents[i] {
            if seen[d] {
                continue;
            }
            seen[d] = true;
            if outcomes[d].is_none() && !started[d] {
                outcomes[d] = Some(NodeOutcome::Skipped(failed));
                skipped.push(d);
            }
            stack.push(d);
        }
    }
    skipped
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

    /// Node 1 waits softly for node 0, which releases it mid-run: 1 starts before 0 ends.
    /// Under a bound of one, 1 waits for a slot and runs after 0: no deadlock.
    #[tokio::test]
    async fn a_released_node_starts_before_its_dependency_ends() {
        for parallelism in [2, 1] {
            let (tx, releases) = tokio::sync::mpsc::unbounded_channel();
            let early = Early {
                soft: vec![vec![], vec![0]],
                releases,
            };
            let log = Mutex::new(Vec::new());
            let finish = tokio::sync::Notify::new();
            let out = walk_early(&[vec![], vec![]], early, parallelism, |i| {
                let (log, tx, finish) = (&log, tx.clone(), &finish);
                async move {
                    log.lock().expect("lock").push(format!("start {i}"));
                    if i == 0 {
                        tx.send((0, 1)).expect("send");
                        if parallelism > 1 {
                            finish.notified().await;
                        }
                    } else {
                        finish.notify_one();
                    }
                    log.lock().expect("lock").push(format!("end {i}"));
                    Ok::<_, ()>(i)
                }
            })
            .await;
            assert!(out.iter().all(NodeOutcome::is_done), "{parallelism}");
            let log = log.into_inner().expect("lock");
            let expected = if parallelism > 1 {
                vec!["start 0", "start 1", "end 1", "end 0"]
            } else {
                vec!["start 0", "end 0", "start 1", "end 1"]
            };
            assert_eq!(log, expected, "parallelism {parallelism}");
        }
    }

    /// A soft dependency that fails before its dependent started skips it, and what
    /// depends on that; one that fails after releasing a started node lets it finish.
    #[tokio::test]
    async fn a_failed_soft_dependency_skips_only_what_has_not_started() {
        // 1 soft on 0 (never released), 2 hard on 1; 4 soft on 3 (released), 3 fails later.
        let (tx, releases) = tokio::sync::mpsc::unbounded_channel();
        let early = Early {
            soft: vec![vec![], vec![0], vec![], vec![], vec![3]],
            releases,
        };
        let deps = vec![vec![], vec![], vec![1], vec![], vec![]];
        let started4 = tokio::sync::Notify::new();
        let out = walk_early(&deps, early, 4, |i| {
            let (tx, started4) = (tx.clone(), &started4);
            async move {
                match i {
                    0 => Err("boom"),
                    3 => {
                        tx.send((3, 4)).expect("send");
                        started4.notified().await;
                        Err("late")
                    }
                    4 => {
                        started4.notify_one();
                        Ok(i)
                    }
                    _ => Ok(i),
                }
            }
        })
        .await;
        assert_eq!(out[1], NodeOutcome::Skipped(0));
        assert_eq!(out[2], NodeOutcome::Skipped(0));
        assert_eq!(out[3], NodeOutcome::Failed("late"));
        assert_eq!(out[4], NodeOutcome::Done(4));
    }
}
