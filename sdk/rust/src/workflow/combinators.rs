//! Waiting on several things at once, deterministically: futures are always
//! polled in argument order, so a replay makes the same choice.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Which of two futures finished first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The first future's output.
    Left(A),
    /// The second future's output.
    Right(B),
}

/// Resolves with the first of `a` and `b` to finish; when both are ready in
/// the same activation, `a` wins. The other future is dropped (a timer or
/// activity it started keeps running unless cancelled).
pub fn select<A, B>(a: A, b: B) -> Select<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    Select { a, b }
}

/// The future returned by [`select`].
pub struct Select<A, B> {
    a: A,
    b: B,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = Pin::new(&mut self.a).poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = Pin::new(&mut self.b).poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    }
}

/// Resolves once every future has finished, with their outputs in argument
/// order (Temporal's `Promise.all`). Futures are polled in order, so the
/// commands they issue are too.
pub fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> JoinAll<F> {
    JoinAll {
        slots: futures
            .into_iter()
            .map(|f| Slot::Waiting(Box::pin(f)))
            .collect(),
    }
}

enum Slot<F: Future> {
    Waiting(Pin<Box<F>>),
    Done(Option<F::Output>),
}

/// The future returned by [`join_all`].
pub struct JoinAll<F: Future> {
    slots: Vec<Slot<F>>,
}

impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut pending = false;
        for slot in self.slots.iter_mut() {
            if let Slot::Waiting(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Slot::Done(Some(v)),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        Poll::Ready(
            self.slots
                .iter_mut()
                .filter_map(|s| match s {
                    Slot::Done(v) => v.take(),
                    Slot::Waiting(_) => None,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn join_all_keeps_argument_order() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut j = join_all([1, 2, 3].map(std::future::ready));
        assert_eq!(Pin::new(&mut j).poll(&mut cx), Poll::Ready(vec![1, 2, 3]));
        let mut j = join_all(vec![
            Box::pin(std::future::ready(1)) as Pin<Box<dyn Future<Output = i32>>>,
            Box::pin(std::future::pending()),
        ]);
        assert_eq!(Pin::new(&mut j).poll(&mut cx), Poll::Pending);
    }

    #[test]
    fn the_first_argument_wins_a_tie() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut s = select(std::future::ready(1), std::future::ready("b"));
        assert_eq!(Pin::new(&mut s).poll(&mut cx), Poll::Ready(Either::Left(1)));
        let mut s = select(std::future::pending::<()>(), std::future::ready("b"));
        assert_eq!(
            Pin::new(&mut s).poll(&mut cx),
            Poll::Ready(Either::Right("b"))
        );
    }
}
