//! rpm's NDB format (`Packages.db`, rpm ≥ 4.16's `ndb` backend, SUSE's default): a slot
//! table of (package index, block offset, block count) pointing at 16-byte-aligned blobs.

const HEADER_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const PAGE: usize = 4096;
const BLK: usize = 16;

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Every header blob the slot table points at.
pub fn parse_ndb(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if le32(data, 0) != Some(HEADER_MAGIC) {
        return Err("not an rpm ndb database".into());
    }
    let version = le32(data, 4).ok_or("short header")?;
    if version != 0 {
        return Err(format!("unsupported ndb version {version}"));
    }
    let slot_pages = le32(data, 12).ok_or("short header")? as usize;
    if slot_pages.checked_mul(PAGE).is_none_or(|n| n > data.len()) {
        return Err("slot table larger than the file".into());
    }
    // The slot table starts in the header's page, so rpm never writes 0 (nor reads a file
    // claiming it).
    if slot_pages == 0 {
        return Err("no slot table".into());
    }
    // The first two slot-sized entries hold the 32-byte database header.
    let slots = slot_pages * (PAGE / BLK) - 2;
    let mut out = Vec::new();
    // Blobs are stored once; slots sharing a blob (hostile) must not multiply memory.
    let mut total = 0usize;
    for i in 0..slots {
        let at = 32 + i * BLK;
        let (Some(magic), Some(pkg), Some(blkoff), Some(_blkcnt)) =
            (le32(data, at), le32(data, at + 4), le32(data, at + 8), le32(data, at + 12))
        else {
            return Err("slot out of range".into());
        };
        if magic != SLOT_MAGIC {
            return Err(format!("slot {i}: bad magic"));
        }
        if pkg == 0 {
            continue;
        }
        let b = (blkoff as usize).checked_mul(BLK).ok_or("blob offset overflow")?;
        if le32(data, b) != Some(BLOB_MAGIC) || le32(data, b + 4) != Some(pkg) {
            return Err(format!("package {pkg}: bad blob header"));
        }
        let len = le32(data, b + 12).ok_or("short blob header")? as usize;
        total = total.saturating_add(len);
        if total > data.len() {
            return Err("blobs larger than the database".into());
        }
        let blob = data.get(b + 16..(b + 16).checked_add(len).ok_or("blob length overflow")?).ok_or("blob out of range")?;
        out.push(blob.to_vec());
    }
    Ok(out)
}
