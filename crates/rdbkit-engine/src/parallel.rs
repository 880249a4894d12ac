//! Batches of per-key work spread over the cores while one thread walks the
//! file.
//!
//! Finding where each record ends is sequential (every length depends on the
//! bytes before it) but cheap; decoding values and formatting them is where a
//! walk spends its time, and each value can be handled on its own. So the
//! walking thread cuts the entries of a memory-mapped file into batches and
//! hands them to worker threads; results come back tagged with the batch's
//! sequence number and are taken in file order. When every worker is busy
//! the walking thread does the batch itself instead of waiting, so a
//! single-core machine loses nothing.
//!
//! Memory stays bounded: at most [`QUEUE`] batches wait for a worker, and the
//! walker stops running ahead (it waits for the oldest result) once
//! [`MAX_PENDING`] finished batches wait to be taken in order.

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// Batches that may wait for a worker.
const QUEUE: usize = 4;
/// Finished batches that may wait for an earlier one before the walker stops
/// doing batches itself and waits.
const MAX_PENDING: usize = 16;

/// Items of a memory-mapped file gathered into batches for a [`Pool`], with
/// the lowest file offset still in use by batches not yet taken back (the
/// walk releases no page from there on).
#[derive(Debug)]
pub(crate) struct Batcher<J> {
    batch: Vec<J>,
    bytes: usize,
    /// File offset of the current batch's first item.
    start: u64,
    /// File offset of the first item of each batch handed out and not yet
    /// taken back, oldest first.
    starts: VecDeque<u64>,
    max_items: usize,
    max_bytes: usize,
}

impl<J> Batcher<J> {
    /// Batches of at most `max_items` items or about `max_bytes` input bytes.
    pub(crate) fn new(max_items: usize, max_bytes: usize) -> Self {
        Batcher {
            batch: Vec::with_capacity(max_items),
            bytes: 0,
            start: 0,
            starts: VecDeque::new(),
            max_items,
            max_bytes,
        }
    }

    /// Add the item of the record at `offset` (`size` bytes); a batch that
    /// is full comes back, to be submitted.
    pub(crate) fn push(&mut self, offset: u64, size: usize, item: J) -> Option<Vec<J>> {
        if self.batch.is_empty() {
            self.start = offset;
        }
        self.bytes += size;
        self.batch.push(item);
        (self.batch.len() >= self.max_items || self.bytes >= self.max_bytes)
            .then(|| self.flush())
            .flatten()
    }

    /// The batch so far, if any (at the end of the walk).
    pub(crate) fn flush(&mut self) -> Option<Vec<J>> {
        if self.batch.is_empty() {
            return None;
        }
        self.starts.push_back(self.start);
        self.bytes = 0;
        Some(std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(self.max_items),
        ))
    }

    /// The oldest batch handed out was taken back.
    pub(crate) fn taken(&mut self) {
        self.starts.pop_front();
    }

    /// The lowest file offset still in use.
    pub(crate) fn in_use_from(&self) -> u64 {
        match (self.starts.front(), self.batch.is_empty()) {
            (Some(&s), _) => s,
            (None, false) => self.start,
            (None, true) => u64::MAX,
        }
    }
}

/// Worker threads to use besides the walking thread: one per further core.
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// The walking thread's handle on the workers (see the module docs).
pub(crate) struct Pool<'w, J, R, S> {
    tx: Option<SyncSender<(u64, Vec<J>)>>,
    rx: Receiver<(u64, R)>,
    work: &'w (dyn Fn(&mut S, Vec<J>) -> R + Sync),
    /// The walking thread's own state for batches it does itself.
    local: S,
    submitted: u64,
    taken: u64,
    pending: BTreeMap<u64, R>,
}

impl<J: Send, R: Send, S> Pool<'_, J, R, S> {
    /// Hand a batch over (or do it here when every worker is busy). Take
    /// the ready results with [`Pool::try_next`] after each submission.
    pub(crate) fn submit(&mut self, batch: Vec<J>) {
        self.collect();
        // Bound what waits to be taken in order: with MAX_PENDING finished
        // batches held up by an older one, wait for that one.
        while self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&self.taken) {
            match self.rx.recv() {
                Ok((seq, r)) => {
                    self.pending.insert(seq, r);
                }
                Err(_) => break,
            }
        }
        let seq = self.submitted;
        self.submitted += 1;
        let batch = match &self.tx {
            Some(tx) => match tx.try_send((seq, batch)) {
                Ok(()) => return,
                Err(TrySendError::Full((_, b)) | TrySendError::Disconnected((_, b))) => b,
            },
            None => batch,
        };
        let r = (self.work)(&mut self.local, batch);
        self.pending.insert(seq, r);
    }

    fn collect(&mut self) {
        while let Ok((seq, r)) = self.rx.try_recv() {
            self.pending.insert(seq, r);
        }
    }

    /// The next result in order, if it is ready (never blocks).
    pub(crate) fn try_next(&mut self) -> Option<R> {
        self.collect();
        self.take_ready()
    }

    /// The next result in order, waiting for it; `None` when every submitted
    /// batch has been taken.
    pub(crate) fn next(&mut self) -> Option<R> {
        loop {
            if self.taken == self.submitted {
                return None;
            }
            if let Some(r) = self.take_ready() {
                return Some(r);
            }
            match self.rx.recv() {
                Ok((seq, r)) => {
                    self.pending.insert(seq, r);
                }
                // Workers only stop once the queue is closed, and every batch
                // they took sends a result first.
                Err(_) => return None,
            }
        }
    }

    fn take_ready(&mut self) -> Option<R> {
        let r = self.pending.remove(&self.taken)?;
        self.taken += 1;
        Some(r)
    }
}

/// Run `body` with a pool of [`workers`] threads doing `work` on batches of
/// `J`, each with its own state from `state`. The pool is drained and the
/// threads joined before this returns what `body` returned, and the states
/// of every thread that did batches (the walking thread's first).
pub(crate) fn with_pool<J, R, S, T>(
    state: impl Fn() -> S + Sync,
    work: &(dyn Fn(&mut S, Vec<J>) -> R + Sync),
    body: impl FnOnce(&mut Pool<'_, J, R, S>) -> T,
) -> (T, Vec<S>)
where
    J: Send,
    R: Send,
    S: Send,
{
    with_workers(workers(), state, work, body)
}

/// [`with_pool`] with `n` worker threads (0: the walking thread does every
/// batch).
pub(crate) fn with_workers<J, R, S, T>(
    n: usize,
    state: impl Fn() -> S + Sync,
    work: &(dyn Fn(&mut S, Vec<J>) -> R + Sync),
    body: impl FnOnce(&mut Pool<'_, J, R, S>) -> T,
) -> (T, Vec<S>)
where
    J: Send,
    R: Send,
    S: Send,
{
    let (tx, jobs) = sync_channel::<(u64, Vec<J>)>(QUEUE);
    let (done, rx) = sync_channel::<(u64, R)>(QUEUE + MAX_PENDING + n + 1);
    let jobs = Arc::new(Mutex::new(jobs));
    std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let jobs = Arc::clone(&jobs);
            let done = done.clone();
            let state = &state;
            let spawned = std::thread::Builder::new()
                .name(format!("rdbkit-worker-{i}"))
                .spawn_scoped(s, move || {
                    let mut st = state();
                    loop {
                        // Hold the lock only to take one batch.
                        let next = jobs.lock().map(|rx| rx.recv());
                        let Ok(Ok((seq, batch))) = next else { break };
                        if done.send((seq, work(&mut st, batch))).is_err() {
                            break;
                        }
                    }
                    st
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(_) => break,
            }
        }
        drop(done);
        let mut pool = Pool {
            // Without a worker the walking thread does every batch itself.
            tx: (!handles.is_empty()).then_some(tx),
            rx,
            work,
            local: state(),
            submitted: 0,
            taken: 0,
            pending: BTreeMap::new(),
        };
        let out = body(&mut pool);
        // Close the queue so the workers stop; results not taken are dropped.
        pool.tx = None;
        while pool.rx.recv().is_ok() {}
        let mut states = vec![pool.local];
        for h in handles {
            states.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        (out, states)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_and_complete() {
        let work = |sum: &mut u64, b: Vec<u64>| {
            // Uneven work so that batches finish out of order.
            if b.first().is_some_and(|x| x % 3 == 0) {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            *sum += 1;
            b.iter().sum::<u64>()
        };
        // 0 workers: everything is done by the walking thread.
        for workers in [0, 1, 3] {
            let (got, states) = with_workers(
                workers,
                || 0u64,
                &work,
                |pool| {
                    let mut got = Vec::new();
                    for i in 0..200u64 {
                        pool.submit(vec![i, i, 1]);
                        while let Some(r) = pool.try_next() {
                            got.push(r);
                        }
                    }
                    while let Some(r) = pool.next() {
                        got.push(r);
                    }
                    got
                },
            );
            let want: Vec<u64> = (0..200u64).map(|i| 2 * i + 1).collect();
            assert_eq!(got, want, "{workers} workers");
            // Every thread's state comes back, and together they saw every batch.
            assert_eq!(states.len(), workers + 1);
            assert_eq!(states.iter().sum::<u64>(), 200, "{workers} workers");
        }
    }

    #[test]
    fn batches_and_the_offsets_in_use() {
        let mut b = Batcher::new(3, 100);
        assert_eq!(b.in_use_from(), u64::MAX);
        assert_eq!(b.push(10, 5, 'a'), None);
        assert_eq!(b.in_use_from(), 10);
        assert_eq!(b.push(15, 5, 'b'), None);
        assert_eq!(b.push(20, 5, 'c'), Some(vec!['a', 'b', 'c']));
        // Handed out, not taken back: still in use.
        assert_eq!(b.in_use_from(), 10);
        assert_eq!(b.push(25, 200, 'd'), Some(vec!['d']));
        b.taken();
        assert_eq!(b.in_use_from(), 25);
        b.taken();
        assert_eq!(b.in_use_from(), u64::MAX);
        assert_eq!(b.flush(), None);
        assert_eq!(b.push(300, 1, 'e'), None);
        assert_eq!(b.flush(), Some(vec!['e']));
    }
}
