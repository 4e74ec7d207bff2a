//! Waiting on several things at once, deterministically: futures are always
//! polled in argument order, so a replay makes the same choice.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Which of two futures finished first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Either<A, B> {
    Left(A),
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
