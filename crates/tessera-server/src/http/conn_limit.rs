//! A cap on open connections (`connection_limit`): each accepted connection holds a permit
//! for its lifetime; past the cap a new connection is closed at once instead of queueing
//! (so a flood of idle sockets cannot exhaust file descriptors or memory). The acceptor
//! wraps axum-server's own (plain, or under the TLS acceptor). A connection that sends
//! nothing at all (not a request byte, not a TLS hello) within the header-read timeout is
//! closed: hyper's own timeout starts only once a request has begun.

use axum_server::accept::Accept;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Admits a connection while fewer than the limit are open.
#[derive(Debug, Clone)]
pub struct LimitAcceptor<A> {
    inner: A,
    permits: Arc<Semaphore>,
    first_byte: Duration,
}

/// A connection whose first byte can be awaited without reading it.
pub trait Readable {
    /// Resolves once the peer has sent something (or closed).
    fn readable(&self) -> impl std::future::Future<Output = io::Result<()>> + Send;
}

impl Readable for tokio::net::TcpStream {
    fn readable(&self) -> impl std::future::Future<Output = io::Result<()>> + Send {
        tokio::net::TcpStream::readable(self)
    }
}

impl<A> LimitAcceptor<A> {
    /// At most `limit` connections at once through `inner`.
    pub fn new(inner: A, limit: usize, first_byte: Duration) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(limit)),
            first_byte,
        }
    }
}

impl<A, I, S> Accept<I, S> for LimitAcceptor<A>
where
    A: Accept<Limited<I>, S> + Clone + Send + 'static,
    A::Future: Send,
    A::Stream: Send,
    A::Service: Send,
    I: Readable + Send + Sync + 'static,
    S: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future =
        Pin<Box<dyn std::future::Future<Output = io::Result<(A::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            tracing::warn!("connection refused: connection_limit reached");
            // Dropping the stream closes the connection.
            return Box::pin(std::future::ready(Err(io::Error::other(
                "connection limit reached",
            ))));
        };
        let inner = self.inner.clone();
        let first_byte = self.first_byte;
        Box::pin(async move {
            if tokio::time::timeout(first_byte, stream.readable())
                .await
                .is_err()
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "nothing received within the header-read timeout",
                ));
            }
            inner
                .accept(
                    Limited {
                        inner: stream,
                        _permit: permit,
                    },
                    service,
                )
                .await
        })
    }
}

/// A connection holding its permit until it closes.
#[derive(Debug)]
pub struct Limited<I> {
    inner: I,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Limited<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Limited<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
