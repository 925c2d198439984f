//! Reads of many objects in one call, without changing what a read answers.
//!
//! The engine reads each resource instance on its own (one `read` per instance, many at
//! once across the units that share a provider configuration). Several AWS APIs answer
//! for many ids in one call (DescribeSecurityGroups, DescribeInstances, DescribeVolumes
//! with an id filter). A [`ReadBatcher`] joins the reads of one kind that are waiting at
//! the same time into such calls: while one call is out, the reads that arrive queue, and
//! the next call takes them all (up to the API's limit). A read alone goes out at once,
//! so nothing waits for a timer.
//!
//! What a read answers is what it would have answered alone:
//! - every read is served by a call that started *after* the read was asked (never by
//!   one already under way), so a read after a change sees the change;
//! - an id the call does not return is `None` for that read only (callers ask by filter,
//!   which leaves missing ids out rather than failing the call);
//! - a failed call fails every read it carried, with the call's error.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use forge_provider::{ProviderError, ProviderResult};
use tokio::sync::oneshot;

/// Joins concurrent reads of one kind of object into batched calls. `V` is what the
/// call answers per id (an SDK shape, cloned to each reader).
pub struct ReadBatcher<V> {
    queue: Mutex<Queue<V>>,
    max_batch: usize,
}

impl<V: Clone + Send> ReadBatcher<V> {
    /// `max_batch`: the most ids one call may carry (the API's limit on filter values).
    pub fn new(max_batch: usize) -> Self {
        ReadBatcher {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                calling: false,
            }),
            max_batch: max_batch.max(1),
        }
    }

    /// The object with `id` as a call made for this read (and the others waiting with
    /// it) answers: `fetch` is given the ids of one batch and returns the objects it
    /// found, by id.
    pub async fn read<F, Fut>(&self, id: &str, fetch: F) -> ProviderResult<Option<V>>
    where
        F: Fn(Vec<String>) -> Fut,
        Fut: Future<Output = ProviderResult<HashMap<String, V>>>,
    {
        loop {
            let (tx, rx) = oneshot::channel();
            let drive = {
                let mut queue = self.lock();
                queue.waiting.push((id.to_string(), tx));
                !std::mem::replace(&mut queue.calling, true)
            };
            if drive {
                // This read makes the calls until nobody waits; a guard hands the turn
                // back if this future is dropped halfway.
                let mut turn = Turn {
                    batcher: self,
                    handed_back: false,
                };
                turn.make_calls(&fetch).await;
            }
            match rx.await {
                Ok(answer) => return answer,
                // The reader making the calls was dropped before this read's answer:
                // ask again (the queue was emptied and the turn handed back).
                Err(_) => continue,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<V>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Reply<V> = oneshot::Sender<ProviderResult<Option<V>>>;

struct Queue<V> {
    waiting: Vec<(String, Reply<V>)>,
    /// A reader is making calls: new reads wait for its next one.
    calling: bool,
}

/// The turn to make calls. Dropped (finished or cancelled), it hands the turn back and
/// drops the replies still queued, so their readers ask again and one of them takes it.
struct Turn<'a, V: Clone + Send> {
    batcher: &'a ReadBatcher<V>,
    /// The calls ran out of reads and the turn went back in the queue's lock: another
    /// reader may hold it by now, and dropping this one must not touch it.
    handed_back: bool,
}

impl<V: Clone + Send> Turn<'_, V> {
    async fn make_calls<F, Fut>(&mut self, fetch: &F)
    where
        F: Fn(Vec<String>) -> Fut,
        Fut: Future<Output = ProviderResult<HashMap<String, V>>>,
    {
        loop {
            let batch: Vec<(String, Reply<V>)> = {
                let mut queue = self.batcher.lock();
                let n = queue.waiting.len().min(self.batcher.max_batch);
                if n == 0 {
                    queue.calling = false;
                    self.handed_back = true;
                    return;
                }
                queue.waiting.drain(..n).collect()
            };
            let mut ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
            ids.sort();
            ids.dedup();
            match fetch(ids).await {
                Ok(found) => {
                    for (id, reply) in batch {
                        let _ = reply.send(Ok(found.get(&id).cloned()));
                    }
                }
                Err(e) => {
                    for (_, reply) in batch {
                        let _ = reply.send(Err::<Option<V>, ProviderError>(e.clone()));
                    }
                }
            }
        }
    }
}

impl<V: Clone + Send> Drop for Turn<'_, V> {
    fn drop(&mut self) {
        if self.handed_back {
            return;
        }
        let mut queue = self.batcher.lock();
        queue.calling = false;
        // Their readers see the reply dropped and ask again.
        queue.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A fake service that knows ids starting with "ok", records each call's ids and
    /// answers after a delay.
    #[derive(Default)]
    struct Service {
        calls: Mutex<Vec<Vec<String>>>,
        generation: AtomicUsize,
    }

    impl Service {
        async fn fetch(&self, ids: Vec<String>) -> ProviderResult<HashMap<String, String>> {
            let generation = self.generation.load(Ordering::SeqCst);
            self.calls.lock().unwrap().push(ids.clone());
            tokio::time::sleep(Duration::from_millis(20)).await;
            if ids.iter().any(|id| id == "broken") {
                return Err(ProviderError::with_code("Throttling", "slow down"));
            }
            Ok(ids
                .into_iter()
                .filter(|id| id.starts_with("ok"))
                .map(|id| (id.clone(), format!("{id}@{generation}")))
                .collect())
        }
    }

    #[tokio::test]
    async fn concurrent_reads_share_calls_and_answer_as_alone() {
        let service = Arc::new(Service::default());
        let batcher = Arc::new(ReadBatcher::<String>::new(100));
        let ids: Vec<String> = (0..50)
            .map(|i| {
                if i % 10 == 3 {
                    format!("gone-{i}")
                } else {
                    format!("ok-{i}")
                }
            })
            .collect();
        let reads = ids.iter().map(|id| {
            let (service, batcher) = (service.clone(), batcher.clone());
            async move { batcher.read(id, |batch| service.fetch(batch)).await }
        });
        let answers = futures_util::future::join_all(reads).await;
        for (id, answer) in ids.iter().zip(answers) {
            let expected = id.starts_with("ok").then(|| format!("{id}@0"));
            assert_eq!(answer.unwrap(), expected, "{id}");
        }
        let calls = service.calls.lock().unwrap().clone();
        // The first read goes alone; the other 49 queue behind it and go in one call.
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0].len(), 1);
        assert_eq!(calls[1].len(), 49);
    }

    #[tokio::test]
    async fn a_batch_never_exceeds_the_limit() {
        let service = Arc::new(Service::default());
        let batcher = Arc::new(ReadBatcher::<String>::new(7));
        let reads = (0..30).map(|i| {
            let (service, batcher) = (service.clone(), batcher.clone());
            async move {
                batcher
                    .read(&format!("ok-{i}"), |batch| service.fetch(batch))
                    .await
            }
        });
        for answer in futures_util::future::join_all(reads).await {
            assert!(answer.unwrap().is_some());
        }
        let calls = service.calls.lock().unwrap().clone();
        assert!(calls.iter().all(|c| c.len() <= 7), "{calls:?}");
        assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 30);
    }

    #[tokio::test]
    async fn a_failed_call_fails_the_reads_it_carried_only() {
        let service = Arc::new(Service::default());
        let batcher = Arc::new(ReadBatcher::<String>::new(100));
        // "first" goes alone; "broken" and "ok-1" share the second call, which fails.
        let first = batcher.read("ok-0", |b| service.fetch(b));
        let second = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::join!(
                batcher.read("broken", |b| service.fetch(b)),
                batcher.read("ok-1", |b| service.fetch(b))
            )
        };
        let (first, (broken, joined)) = tokio::join!(first, second);
        assert_eq!(first.unwrap().as_deref(), Some("ok-0@0"));
        assert_eq!(broken.unwrap_err().code.as_deref(), Some("Throttling"));
        assert_eq!(joined.unwrap_err().code.as_deref(), Some("Throttling"));
        // A later read is not answered by the failed call.
        assert!(
            batcher
                .read("ok-1", |b| service.fetch(b))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_read_asked_during_a_call_waits_for_the_next_one() {
        let service = Arc::new(Service::default());
        let batcher = Arc::new(ReadBatcher::<String>::new(100));
        let early = batcher.read("ok-a", |b| service.fetch(b));
        let late = async {
            // Asked while the first call is out, after the object changed.
            tokio::time::sleep(Duration::from_millis(5)).await;
            service.generation.store(1, Ordering::SeqCst);
            batcher.read("ok-a", |b| service.fetch(b)).await
        };
        let (early, late) = tokio::join!(early, late);
        assert_eq!(early.unwrap().as_deref(), Some("ok-a@0"));
        assert_eq!(late.unwrap().as_deref(), Some("ok-a@1"));
    }

    #[tokio::test]
    async fn a_dropped_caller_hands_its_turn_on() {
        let service = Arc::new(Service::default());
        let batcher = Arc::new(ReadBatcher::<String>::new(100));
        let leader = batcher.read("ok-lead", |b| service.fetch(b));
        // The follower asks while the leader's call is out; the leader is then given up
        // halfway: the follower is still answered, by a call of its own.
        let follower = tokio::spawn({
            let (batcher, service) = (batcher.clone(), service.clone());
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                batcher.read("ok-follow", |b| service.fetch(b)).await
            }
        });
        let _ = tokio::time::timeout(Duration::from_millis(10), leader).await;
        let answer = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("no hang")
            .unwrap();
        assert_eq!(answer.unwrap().as_deref(), Some("ok-follow@0"));
    }
}
