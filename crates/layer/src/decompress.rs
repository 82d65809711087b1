//! Layer blob decompression, by sniffing magic bytes (media types lie; bytes do not).

use crate::error::{Error, ErrorKind};
use std::io::{BufRead, BufReader, Read};

/// The compression of a layer blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const BZIP2: &[u8] = b"BZh";

/// Wraps a layer blob in the right streaming decoder, sniffing its first bytes.
///
/// `media_type` is only used in the error for formats we do not decode (bzip2, xz). Gzip is
/// read multi-member (as `gzip -d` does); zstd keeps its default window limit (128 MiB) so a
/// crafted frame cannot make us allocate gigabytes.
pub fn decompress<'a>(reader: impl Read + 'a, media_type: Option<&str>) -> Result<(Box<dyn Read + 'a>, Compression), Error> {
    let (c, buf) = sniff(reader, media_type)?;
    Ok(match c {
        Compression::Gzip => (Box::new(flate2::bufread::MultiGzDecoder::new(buf)), c),
        Compression::Zstd => (Box::new(zstd_decoder(buf)?), c),
        Compression::None => (Box::new(buf), c),
    })
}

/// [`decompress`] for a `Send` reader, giving a `Send` reader (to hand to another thread).
pub fn decompress_send<'a>(
    reader: impl Read + Send + 'a,
    media_type: Option<&str>,
) -> Result<(Box<dyn Read + Send + 'a>, Compression), Error> {
    let (c, buf) = sniff(reader, media_type)?;
    Ok(match c {
        Compression::Gzip => (Box::new(flate2::bufread::MultiGzDecoder::new(buf)), c),
        Compression::Zstd => (Box::new(zstd_decoder(buf)?), c),
        Compression::None => (Box::new(buf), c),
    })
}

fn zstd_decoder<R: BufRead>(buf: R) -> Result<zstd::stream::read::Decoder<'static, R>, Error> {
    zstd::stream::read::Decoder::with_buffer(buf).map_err(|source| ErrorKind::Io { diff_id: String::new(), source }.into())
}

fn sniff<R: Read>(reader: R, media_type: Option<&str>) -> Result<(Compression, BufReader<R>), Error> {
    let mut buf = BufReader::with_capacity(256 * 1024, reader);
    let head = fill_at_least(&mut buf, 6).map_err(|source| ErrorKind::Io { diff_id: String::new(), source })?;
    if head.starts_with(GZIP) {
        return Ok((Compression::Gzip, buf));
    }
    if head.starts_with(ZSTD) {
        return Ok((Compression::Zstd, buf));
    }
    if head.starts_with(XZ) || head.starts_with(BZIP2) {
        let what = media_type.unwrap_or(if head.starts_with(XZ) { "xz" } else { "bzip2" });
        return Err(ErrorKind::UnsupportedCompression(what.to_string()).into());
    }
    Ok((Compression::None, buf))
}

/// Peeks at least `n` bytes (fewer only at EOF) without consuming them.
fn fill_at_least<R: Read>(buf: &mut BufReader<R>, n: usize) -> std::io::Result<Vec<u8>> {
    // BufReader::fill_buf returns what one read gave; a short first read (pipes, sockets)
    // would hide the magic, so top up through the buffer until `n` bytes or EOF.
    loop {
        let have = buf.buffer().len();
        if have >= n {
            return Ok(buf.buffer()[..n].to_vec());
        }
        if have == 0 {
            if buf.fill_buf()?.is_empty() {
                return Ok(Vec::new());
            }
            continue;
        }
        // Partial buffer: cannot top up a BufReader in place, so accept what we have; the
        // magic numbers we test are at most 6 bytes and real readers give far more per read.
        return Ok(buf.buffer().to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(r: &mut dyn Read) -> Vec<u8> {
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn plain_gzip_multimember_zstd() {
        let data = b"hello layer".repeat(1000);
        let (mut r, c) = decompress(&data[..], None).unwrap();
        assert_eq!(c, Compression::None);
        assert_eq!(read_all(&mut r), data);

        let mut gz = Vec::new();
        for half in [&data[..5000], &data[5000..]] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(half).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let (mut r, c) = decompress(&gz[..], Some("application/vnd.oci.image.layer.v1.tar+gzip")).unwrap();
        assert_eq!(c, Compression::Gzip);
        assert_eq!(read_all(&mut r), data);

        let z = zstd::stream::encode_all(&data[..], 3).unwrap();
        let (mut r, c) = decompress(&z[..], None).unwrap();
        assert_eq!(c, Compression::Zstd);
        assert_eq!(read_all(&mut r), data);
    }

    #[test]
    fn empty_and_unsupported() {
        let (mut r, c) = decompress(&b""[..], None).unwrap();
        assert_eq!(c, Compression::None);
        assert!(read_all(&mut r).is_empty());
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2];
        assert!(decompress(&xz[..], None).err().unwrap().is_invalid_input());
    }
}
