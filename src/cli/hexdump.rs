//! `get -x` output: the table that netty's `ByteBufUtil.prettyHexDump` draws, which zkCli uses.

const HEADER: &str = "         +-------------------------------------------------+\n         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |\n+--------+-------------------------------------------------+----------------+";
const FOOTER: &str =
    "+--------+-------------------------------------------------+----------------+";

/// The dump without a trailing newline; empty data gives an empty string, as in netty.
pub fn pretty_hex_dump(data: &[u8]) -> String {
    if data.is_empty() {
        return String::new();
    }
    let mut out = String::from(HEADER);
    for (row, chunk) in data.chunks(16).enumerate() {
        out.push_str(&format!("\n|{:08x}|", (row as u64) << 4 & 0xFFFF_FFFF));
        for byte in chunk {
            out.push_str(&format!(" {byte:02x}"));
        }
        out.push_str(&"   ".repeat(16 - chunk.len()));
        out.push_str(" |");
        for &byte in chunk {
            out.push(if (0x20..0x7f).contains(&byte) {
                char::from(byte)
            } else {
                '.'
            });
        }
        out.push_str(&" ".repeat(16 - chunk.len()));
        out.push('|');
    }
    out.push('\n');
    out.push_str(FOOTER);
    out
}

#[cfg(test)]
mod tests {
    use super::pretty_hex_dump;

    #[test]
    fn short_data_matches_zkcli() {
        let expected = "         +-------------------------------------------------+
         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |
+--------+-------------------------------------------------+----------------+
|00000000| 68 65 6c 6c 6f                                  |hello           |
+--------+-------------------------------------------------+----------------+";
        assert_eq!(pretty_hex_dump(b"hello"), expected);
    }

    #[test]
    fn full_and_partial_rows() {
        let data: Vec<u8> = (0u8..20).chain([0x7f, b'~']).collect();
        let dump = pretty_hex_dump(&data);
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[3],
            "|00000000| 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f |................|"
        );
        assert_eq!(
            lines[4],
            "|00000010| 10 11 12 13 7f 7e                               |.....~          |"
        );
    }

    #[test]
    fn empty() {
        assert_eq!(pretty_hex_dump(b""), "");
    }
}
