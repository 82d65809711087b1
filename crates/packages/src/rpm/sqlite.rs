//! Just enough of the SQLite file format (sqlite.org/fileformat.html) to read the `blob`
//! column of rpm's `Packages` table: table b-tree pages, records, overflow chains.

use std::collections::HashSet;

struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    usable: usize,
}

/// Every header blob of the `Packages` table, in rowid order.
pub fn parse_sqlite(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if !data.starts_with(b"SQLite format 3\0") || data.len() < 100 {
        return Err("not an SQLite 3 database".into());
    }
    let ps = u16::from_be_bytes([data[16], data[17]]) as usize;
    let page_size = if ps == 1 { 65536 } else { ps };
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(format!("bad page size {page_size}"));
    }
    let reserved = data[20] as usize;
    let usable = page_size.checked_sub(reserved).filter(|u| *u >= 480).ok_or("bad reserved space")?;
    let db = Db { data, page_size, usable };
    // sqlite_schema: type, name, tbl_name, rootpage, sql.
    let mut root = None;
    let mut schema_total = 0usize;
    db.walk_table(1, &mut |rec| {
        schema_total = schema_total.saturating_add(rec.total);
        if schema_total > data.len() {
            return Err("schema larger than the database".into());
        }
        let cols = record(&db, rec)?;
        if let (Some(Value::Text(t)), Some(Value::Text(n)), Some(Value::Int(r))) = (cols.first(), cols.get(1), cols.get(3))
            && t == b"table"
            && n == b"Packages"
        {
            root = Some(*r);
        }
        Ok(())
    })?;
    let root = root.ok_or("no Packages table")?;
    let root = u32::try_from(root).map_err(|_| "bad root page")?;
    let mut blobs = Vec::new();
    // Payloads are stored once; cells or chains that share pages (hostile) must not
    // multiply time and memory.
    let mut total = 0usize;
    db.walk_table(root, &mut |rec| {
        total = total.saturating_add(rec.total);
        if total > data.len() {
            return Err("payloads larger than the database".into());
        }
        // Packages(hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL): hnum is the rowid.
        if let Some(Value::Blob(b)) = record(&db, rec)?.into_iter().nth(1) {
            blobs.push(b);
        }
        Ok(())
    })?;
    Ok(blobs)
}

enum Value {
    Null,
    Int(i64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

/// SQLite varint: big-endian 7-bit groups, the ninth byte whole. Returns (value, length).
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(i)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(byte), 9));
        }
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn record(db: &Db<'_>, cell: Payload<'_>) -> Result<Vec<Value>, String> {
    let p = db.payload(cell)?;
    let (hlen, n) = varint(&p).ok_or("bad record header")?;
    let hlen = usize::try_from(hlen).map_err(|_| "bad record header")?;
    let header = p.get(n..hlen).ok_or("record header out of range")?;
    let mut body = p.get(hlen..).ok_or("record body out of range")?;
    let mut out = Vec::new();
    let mut h = header;
    while !h.is_empty() {
        let (ty, k) = varint(h).ok_or("bad serial type")?;
        h = &h[k..];
        let int = |len: usize, body: &mut &[u8]| -> Result<Value, String> {
            let b = body.get(..len).ok_or("int out of range")?;
            let mut v: i64 = if b.first().is_some_and(|x| x & 0x80 != 0) { -1 } else { 0 };
            for x in b {
                v = (v << 8) | i64::from(*x);
            }
            *body = &body[len..];
            Ok(Value::Int(v))
        };
        let v = match ty {
            0 => Value::Null,
            1..=4 => int(ty as usize, &mut body)?,
            5 => int(6, &mut body)?,
            6 | 7 => int(8, &mut body)?,
            8 => Value::Int(0),
            9 => Value::Int(1),
            t if t >= 12 => {
                let len = usize::try_from((t - 12) / 2).map_err(|_| "length overflow")?;
                let b = body.get(..len).ok_or("value out of range")?.to_vec();
                body = &body[len..];
                if t % 2 == 0 { Value::Blob(b) } else { Value::Text(b) }
            }
            _ => return Err(format!("reserved serial type {ty}")),
        };
        out.push(v);
    }
    Ok(out)
}

/// A table leaf cell's payload: total size, the bytes on the page, first overflow page.
struct Payload<'a> {
    total: usize,
    local: &'a [u8],
    overflow: u32,
}

impl<'a> Db<'a> {
    fn page(&self, n: u32) -> Result<&'a [u8], String> {
        let start = (n as usize).checked_sub(1).ok_or("page 0")? * self.page_size;
        self.data.get(start..start + self.page_size).ok_or_else(|| format!("page {n} out of range"))
    }

    /// Visits every leaf cell of the table b-tree rooted at `root`.
    fn walk_table(&self, root: u32, f: &mut dyn FnMut(Payload<'a>) -> Result<(), String>) -> Result<(), String> {
        let mut stack = vec![root];
        let mut seen = HashSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                return Err(format!("page {n} visited twice"));
            }
            let page = self.page(n)?;
            let hdr = if n == 1 { 100 } else { 0 };
            let kind = *page.get(hdr).ok_or("short page")?;
            let cells = u16::from_be_bytes([page[hdr + 3], page[hdr + 4]]) as usize;
            let ptrs_at = hdr + if kind == 0x05 { 12 } else { 8 };
            let cell_at = |i: usize| -> Result<usize, String> {
                let p = page.get(ptrs_at + 2 * i..ptrs_at + 2 * i + 2).ok_or("cell pointer out of range")?;
                Ok(u16::from_be_bytes([p[0], p[1]]) as usize)
            };
            match kind {
                0x05 => {
                    let right = page.get(hdr + 8..hdr + 12).ok_or("short page")?;
                    stack.push(u32::from_be_bytes([right[0], right[1], right[2], right[3]]));
                    for i in (0..cells).rev() {
                        let c = page.get(cell_at(i)?..cell_at(i)? + 4).ok_or("cell out of range")?;
                        stack.push(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                    }
                }
                0x0d => {
                    for i in 0..cells {
                        let at = cell_at(i)?;
                        let cell = page.get(at..).ok_or("cell out of range")?;
                        let (total, a) = varint(cell).ok_or("bad payload size")?;
                        let (_rowid, b) = varint(&cell[a..]).ok_or("bad rowid")?;
                        let total = usize::try_from(total).map_err(|_| "payload too large")?;
                        let local_len = self.local_len(total);
                        let body = &cell[a + b..];
                        let local = body.get(..local_len).ok_or("payload out of range")?;
                        let overflow = if local_len < total {
                            let o = body.get(local_len..local_len + 4).ok_or("overflow pointer out of range")?;
                            u32::from_be_bytes([o[0], o[1], o[2], o[3]])
                        } else {
                            0
                        };
                        f(Payload { total, local, overflow })?;
                    }
                }
                k => return Err(format!("page {n}: not a table b-tree page (type {k:#x})")),
            }
        }
        Ok(())
    }

    /// How much of a table-leaf payload is stored on the page (fileformat.html §1.6).
    fn local_len(&self, total: usize) -> usize {
        let u = self.usable;
        let x = u - 35;
        if total <= x {
            return total;
        }
        let m = ((u - 12) * 32 / 255) - 23;
        let k = m + (total - m) % (u - 4);
        if k <= x { k } else { m }
    }

    fn payload(&self, p: Payload<'_>) -> Result<Vec<u8>, String> {
        if p.total > self.data.len() {
            return Err("payload larger than the database".into());
        }
        let mut out = Vec::with_capacity(p.total);
        out.extend_from_slice(p.local);
        let mut next = p.overflow;
        let mut hops = 0usize;
        while out.len() < p.total {
            hops += 1;
            if next == 0 || hops > self.data.len() / self.page_size {
                return Err("broken overflow chain".into());
            }
            let page = self.page(next)?;
            next = u32::from_be_bytes([page[0], page[1], page[2], page[3]]);
            let take = (p.total - out.len()).min(self.usable - 4);
            out.extend_from_slice(&page[4..4 + take]);
        }
        Ok(out)
    }
}
