fn main() {
    println!("{:?}", memchr::memchr(b'l', b"hello"));
}
