//! The rpm header blob as rpmdb stores it: index count, data length, index entries, data.

/// The tags Shipshape needs from one installed package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: String,
    pub source_rpm: String,
    pub license: String,
}

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's own limits (`hdrchkTags`, `hdrchkData`).
const MAX_ENTRIES: usize = 0xffff;
const MAX_DATA: usize = 256 << 20;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decodes the tags of [`RpmHeader`] from one header blob.
pub fn parse_header_blob(blob: &[u8]) -> Result<RpmHeader, String> {
    let il = be32(blob, 0).ok_or("short header")? as usize;
    let dl = be32(blob, 4).ok_or("short header")? as usize;
    if il > MAX_ENTRIES || dl > MAX_DATA {
        return Err(format!("implausible header: {il} entries, {dl} data bytes"));
    }
    let data_start = 8 + il * 16;
    let data = blob.get(data_start..data_start + dl).ok_or("header shorter than its lengths")?;
    let mut h = RpmHeader::default();
    for i in 0..il {
        let e = 8 + i * 16;
        let (Some(tag), Some(ty), Some(off), Some(count)) = (be32(blob, e), be32(blob, e + 4), be32(blob, e + 8), be32(blob, e + 12))
        else {
            return Err("short index".into());
        };
        let off = off as usize;
        let string = || -> Result<String, String> {
            if ty != TYPE_STRING && ty != TYPE_I18NSTRING {
                return Err(format!("tag {tag}: type {ty} is not a string"));
            }
            let s = data.get(off..).ok_or_else(|| format!("tag {tag}: offset out of range"))?;
            let end = memchr::memchr(0, s).ok_or_else(|| format!("tag {tag}: unterminated string"))?;
            Ok(String::from_utf8_lossy(&s[..end]).into_owned())
        };
        match tag {
            TAG_NAME => h.name = string()?,
            TAG_VERSION => h.version = string()?,
            TAG_RELEASE => h.release = string()?,
            TAG_ARCH => h.arch = string()?,
            TAG_SOURCERPM => h.source_rpm = string()?,
            TAG_LICENSE => h.license = string()?,
            TAG_EPOCH if ty == TYPE_INT32 && count >= 1 => {
                h.epoch = Some(be32(data, off).ok_or("epoch out of range")?);
            }
            _ => {}
        }
    }
    Ok(h)
}
