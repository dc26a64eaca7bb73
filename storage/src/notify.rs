//! Readiness notification for a service manager: systemd's `Type=notify` starts the units
//! that depend on a daemon only once it has said `READY=1`, and shows `STOPPING=1` while it
//! shuts down. The message is one datagram on the Unix socket named by `NOTIFY_SOCKET` (a
//! path, or an abstract name when it starts with `@`); without that variable nothing is sent.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// The daemon listens and serves.
pub const READY: &str = "READY=1";

/// The daemon has begun to shut down.
pub const STOPPING: &str = "STOPPING=1";

/// Tells the service manager that the daemon is ready (see [`state`]).
pub fn ready() {
    state(READY);
}

/// Polls `shutdown` once, then tells the service manager that the daemon is ready, and returns
/// the rest of `shutdown`. A signal handler that `shutdown` installs on its first poll (the
/// daemons' SIGTERM) is thereby in place before a service manager, told READY, may send SIGTERM.
pub async fn ready_when_armed(shutdown: impl Future<Output = ()>) -> impl Future<Output = ()> {
    let mut shutdown = Box::pin(shutdown);
    let stopped_already =
        std::future::poll_fn(|cx| std::task::Poll::Ready(shutdown.as_mut().poll(cx).is_ready()))
            .await;
    ready();
    async move {
        if !stopped_already {
            shutdown.await;
        }
    }
}

/// Tells the service manager that the daemon is stopping (see [`state`]).
pub fn stopping() {
    state(STOPPING);
}

/// Sends `state` to the socket in `NOTIFY_SOCKET`, if set. A failure is logged, never fatal:
/// the daemon serves either way, and the service manager reports a missing notification.
pub fn state(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&socket, state) {
        tracing::warn!(
            socket = %socket.to_string_lossy(),
            cause = %e,
            "cannot tell the service manager {state}"
        );
    }
}

/// Sends `state` as one datagram to `socket`: a file path, or an abstract socket name after
/// `@`.
pub fn send(socket: &OsStr, state: &str) -> std::io::Result<()> {
    let sender = UnixDatagram::unbound()?;
    match socket.as_bytes().strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt as _;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sender.send_to_addr(state.as_bytes(), &address)?;
        }
        None => {
            sender.send_to(state.as_bytes(), Path::new(socket))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_arrives_as_one_datagram_on_a_path_or_an_abstract_name()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path)?;
        send(path.as_os_str(), READY)?;
        let mut buffer = [0u8; 64];
        let read = listener.recv(&mut buffer)?;
        assert_eq!(buffer.get(..read), Some(READY.as_bytes()));

        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("trm-notify-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        let abstract_listener = UnixDatagram::bind_addr(&address)?;
        send(OsStr::new(&format!("@{name}")), STOPPING)?;
        let read = abstract_listener.recv(&mut buffer)?;
        assert_eq!(buffer.get(..read), Some(STOPPING.as_bytes()));

        // Nobody listening: an error, which `state` only logs.
        drop(listener);
        assert!(send(path.as_os_str(), READY).is_err());
        Ok(())
    }
}
