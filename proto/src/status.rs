//! A failed gRPC call's status in words for logs and errors: its message and the causes below
//! it, since a transport failure's message alone says only "transport error".

/// `status`'s message followed by each cause not already in it, e.g. "transport error: the TLS
/// handshake with http://10.0.0.7:7401/ did not finish within 5s".
pub fn describe(status: &tonic::Status) -> String {
    let mut words = status.message().to_owned();
    let mut cause = std::error::Error::source(status);
    while let Some(error) = cause {
        let text = error.to_string();
        if !words.contains(&text) {
            words.push_str(": ");
            words.push_str(&text);
        }
        cause = error.source();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_causes_follow_the_message_once() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "did not finish within 5s");
        let status = tonic::Status::from_error(Box::new(io));
        let words = describe(&status);
        assert_eq!(
            words.matches("did not finish within 5s").count(),
            1,
            "{words}"
        );
        assert_eq!(describe(&tonic::Status::unavailable("gone")), "gone");
    }
}
