//! Ports for the servers the tests start as child processes (OpenBao, aiosmtpd,
//! redis-server). None of them can take a listening socket from the test, so a port is
//! chosen, its socket closed, and the number handed to the child: another process may take
//! it in between. Two defences: no port is handed out twice by one test binary (parallel
//! tests never start two servers on one port), and [`started`] only accepts a child that
//! is still running once its port answers (a child that lost the port exits, and the
//! caller tries another).

use std::collections::BTreeSet;
use std::process::Child;
use std::sync::Mutex;

static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A loopback port free now and not handed out before by this process.
///
/// # Panics
/// When no port can be bound.
#[expect(clippy::expect_used, reason = "test harness")]
pub fn free_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        if HANDED_OUT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(port)
        {
            return port;
        }
    }
}

/// Whether `child`, whose port now answers, is the one answering: it is still running
/// (one that lost its port to another process has exited).
pub fn started(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// How many ports a harness tries before giving up.
pub const ATTEMPTS: usize = 5;
