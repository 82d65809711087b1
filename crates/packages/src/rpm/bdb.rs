//! Berkeley DB hash databases (`Packages` of rpm < 4.16 and RHEL/CentOS ≤ 8): walk every hash
//! page, take each data item (inline or an off-page overflow chain).

const HASH_MAGIC: u32 = 0x0006_1561;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
const PAGE_HEADER: usize = 26;

#[derive(Clone, Copy)]
struct Order(bool);

impl Order {
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let s = b.get(at..at.checked_add(4)?)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if self.0 { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    }
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let s = b.get(at..at.checked_add(2)?)?;
        let a = [s[0], s[1]];
        Some(if self.0 { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) })
    }
}

/// Every value (rpm header blob) of the hash database.
pub fn parse_bdb(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    // Files are in the writing host's byte order; the magic tells which.
    let order = if Order(false).u32(data, 12) == Some(HASH_MAGIC) {
        Order(false)
    } else if Order(true).u32(data, 12) == Some(HASH_MAGIC) {
        Order(true)
    } else {
        return Err("not a Berkeley DB hash database".into());
    };
    let page_size = order.u32(data, 20).ok_or("short metadata page")? as usize;
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(format!("bad page size {page_size}"));
    }
    let last = order.u32(data, 32).ok_or("short metadata page")? as usize;
    let pages = (last + 1).min(data.len() / page_size);
    let mut out: Vec<Vec<u8>> = Vec::new();
    // Each value is stored once, so all values together fit in the file; more means items
    // that share pages (hostile), which would otherwise cost quadratic time and memory.
    let mut total = 0usize;
    for n in 1..pages {
        let page = &data[n * page_size..(n + 1) * page_size];
        if page[25] != P_HASH && page[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = order.u16(page, 20).unwrap_or(0) as usize;
        // Items alternate key, value; item i ends where item i-1 starts.
        for i in (1..entries).step_by(2) {
            let (Some(start), Some(end)) = (order.u16(page, PAGE_HEADER + 2 * i), order.u16(page, PAGE_HEADER + 2 * (i - 1))) else {
                break;
            };
            let (start, end) = (start as usize, end as usize);
            let Some(item) = page.get(start..end.max(start)) else {
                continue;
            };
            match item.first() {
                Some(&H_OFFPAGE) => {
                    let (Some(pgno), Some(len)) = (order.u32(item, 4), order.u32(item, 8)) else {
                        continue;
                    };
                    total = total.saturating_add(len as usize);
                    if total > data.len() {
                        return Err("values larger than the database".into());
                    }
                    out.push(overflow(data, page_size, order, pgno as usize, len as usize)?);
                }
                Some(&H_KEYDATA) => {
                    total = total.saturating_add(item.len());
                    if total > data.len() {
                        return Err("values larger than the database".into());
                    }
                    out.push(item[1..].to_vec());
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Follows an overflow chain; on overflow pages the header's offset field holds the bytes used.
fn overflow(data: &[u8], page_size: usize, order: Order, mut pgno: usize, len: usize) -> Result<Vec<u8>, String> {
    if len > data.len() {
        return Err("overflow item larger than the file".into());
    }
    let mut out = Vec::with_capacity(len);
    let mut hops = 0;
    while out.len() < len {
        hops += 1;
        if pgno == 0 || hops > data.len() / page_size {
            return Err("broken overflow chain".into());
        }
        let page = data.get(pgno * page_size..(pgno + 1) * page_size).ok_or("overflow page out of range")?;
        if page[25] != P_OVERFLOW {
            return Err(format!("page {pgno} is not an overflow page"));
        }
        let used = order.u16(page, 22).ok_or("short page")? as usize;
        let chunk = page.get(PAGE_HEADER..PAGE_HEADER + used).ok_or("overflow length out of range")?;
        out.extend_from_slice(&chunk[..chunk.len().min(len - out.len())]);
        pgno = order.u32(page, 16).ok_or("short page")? as usize;
    }
    Ok(out)
}
