//! Framing: arbitrary bytes as they could arrive on a client connection, through `next_frame`
//! as the first frame (where four-letter words are recognised) and every later one, with the
//! default jute.maxbuffer and a small one.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zk::proto::frame::{DEFAULT_MAX_BUFFER, Frame, next_frame};

fuzz_target!(|data: &[u8]| {
    for max in [DEFAULT_MAX_BUFFER, 16] {
        let mut buf = BytesMut::from(data);
        let ((), usage) = zk_fuzz::measure(|| {
            let mut first = true;
            loop {
                let before = buf.len();
                match next_frame(&mut buf, first, max) {
                    Ok(Some(Frame::Packet(p))) => {
                        assert!(p.len() <= max);
                        assert_eq!(buf.len(), before - 4 - p.len());
                    }
                    Ok(Some(Frame::FourLetter(_))) => {
                        assert!(first);
                        assert_eq!(buf.len(), before - 4);
                    }
                    Ok(None) => {
                        assert_eq!(buf.len(), before, "waiting for more bytes must consume none");
                        break;
                    }
                    Err(_) => break,
                }
                first = false;
            }
        });
        zk_fuzz::check("next_frame", data.len(), usage);
    }
});
