//! Request bodies keep arriving or are cut off. actix-web bounds the time to receive a request's
//! headers (`client_request_timeout`) but not its body: a client that sends the headers and part
//! of the body and then falls silent would hold its connection, and the worker task reading the
//! body, for as long as the socket lives. Every body is read through [`Paced`], which fails the
//! read when no byte has come for the configured pause; `extract::JsonBody` answers that with
//! 408 `body_timeout` and the connection is closed after the answer (its body is unread).
//!
//! The bound is on each pause, as nginx's `client_body_timeout` is, not on the whole body: a
//! phone on a weak village network may take long over a large body, but it keeps sending. The
//! size limit bounds the whole.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep, sleep};

/// The longest pause while a request body is arriving (`TONGXING_BODY_TIMEOUT`).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl Default for BodyTimeout {
    fn default() -> Self {
        BodyTimeout(Duration::from_secs(10))
    }
}

/// The message of the read error a pause too long causes (its kind is `TimedOut`).
pub const PAUSED_TOO_LONG: &str = "the request body stopped arriving";

/// Whether a payload error is the one [`Paced`] reports.
pub fn is_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut)
}

/// Middleware: reads every request body through [`Paced`] with the app's [`BodyTimeout`].
pub async fn paced(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let pause = req.app_data::<BodyTimeout>().copied().unwrap_or_default().0;
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        req.set_payload(payload);
    } else {
        let paced: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(Paced::new(payload, pause));
        req.set_payload(Payload::from(paced));
    }
    next.call(req).await
}

/// A body stream that fails with a `TimedOut` error once no chunk has come for `pause` since the
/// reading began or the last chunk came.
pub struct Paced<S> {
    inner: S,
    pause: Duration,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl<S> Paced<S> {
    pub fn new(inner: S, pause: Duration) -> Self {
        Paced { inner, pause, timer: Box::pin(sleep(pause)), done: false }
    }
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for Paced<S> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let deadline = Instant::now() + self.pause;
                self.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => {
                self.done = true;
                Poll::Ready(other)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    let e = io::Error::new(io::ErrorKind::TimedOut, PAUSED_TOO_LONG);
                    Poll::Ready(Some(Err(PayloadError::Io(e))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn chunks(parts: Vec<(u64, &'static str)>) -> Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> {
        // Each part comes after its delay in milliseconds.
        Box::pin(futures_util::stream::iter(parts).then(|(ms, text)| async move {
            sleep(Duration::from_millis(ms)).await;
            Ok(Bytes::from_static(text.as_bytes()))
        }))
    }

    #[actix_web::test]
    async fn a_body_that_keeps_arriving_is_read_whole() {
        let slow = chunks(vec![(60, "a"), (60, "b"), (60, "c"), (60, "d")]);
        let mut paced = Paced::new(slow, Duration::from_millis(100));
        let mut read = Vec::new();
        while let Some(chunk) = paced.next().await {
            read.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(read, b"abcd", "240 ms in all, no pause over 100 ms");
    }

    #[actix_web::test]
    async fn a_pause_too_long_ends_the_body_with_a_timeout() {
        let stalled = chunks(vec![(0, "a"), (300, "b")]);
        let mut paced = Paced::new(stalled, Duration::from_millis(100));
        assert_eq!(paced.next().await.unwrap().unwrap(), "a");
        let started = std::time::Instant::now();
        let e = paced.next().await.unwrap().unwrap_err();
        assert!(is_timeout(&e), "{e}");
        assert!(started.elapsed() < Duration::from_millis(250));
        assert!(paced.next().await.is_none());
    }
}
