//! MIME types of offered files: a label for the receiver's page, and whether to try a
//! thumbnail. The receiver never trusts the label; it decodes pictures itself.

/// What unknown content is called.
const UNKNOWN: &str = "application/octet-stream";

/// Longest MIME type accepted from a peer, in bytes (RFC 6838 allows 127 per side; the whole
/// label does not need more).
const MAX_MIME_BYTES: usize = 127;

/// Types by lowercase extension.
const BY_EXTENSION: &[(&str, &str)] = &[
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("ics", "text/calendar"),
    ("vcf", "text/vcard"),
    ("rtf", "application/rtf"),
    ("pdf", "application/pdf"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("epub", "application/epub+zip"),
    ("jar", "application/java-archive"),
    ("apk", "application/vnd.android.package-archive"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tgz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("bz2", "application/x-bzip2"),
    ("xz", "application/x-xz"),
    ("7z", "application/x-7z-compressed"),
    ("rar", "application/vnd.rar"),
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("flac", "audio/flac"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/aac"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("mkv", "video/x-matroska"),
    ("avi", "video/x-msvideo"),
    ("ogv", "video/ogg"),
    ("3gp", "video/3gpp"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("bmp", "image/bmp"),
    ("svg", "image/svg+xml"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("avif", "image/avif"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("ico", "image/vnd.microsoft.icon"),
];

/// Formats that are ZIP files inside, and so sniff as `application/zip`.
const ZIP_BASED: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/epub+zip",
    "application/java-archive",
    "application/vnd.android.package-archive",
];

/// The types [`is_image`] accepts: what the `image` crate here decodes, under the names
/// senders use for them.
const DECODABLE_IMAGES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/jpg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/x-ms-bmp",
];

/// The MIME type of a file named `name` whose first bytes are `head` (a few hundred are
/// plenty; fewer or none also work). Content wins over the name where it is recognized.
pub(crate) fn guess_mime(name: &str, head: &[u8]) -> String {
    let by_name = extension(name).and_then(|ext| {
        BY_EXTENSION
            .iter()
            .find(|(known, _)| *known == ext)
            .map(|&(_, mime)| mime)
    });
    let mime = match sniff(head) {
        // A ZIP is also an office document, an e-book, an app…: the name tells which.
        Some("application/zip") => by_name.filter(|m| ZIP_BASED.contains(m)).unwrap_or("application/zip"),
        // Ogg holds audio or video; only the name says which.
        Some("audio/ogg") if by_name == Some("video/ogg") => "video/ogg",
        Some(sniffed) => sniffed,
        // Content that is present but not the picture the name claims is not that picture:
        // no thumbnail is attempted and the receiver is not promised one.
        None if !head.is_empty() && by_name.is_some_and(sniffable_image) => UNKNOWN,
        None => by_name.unwrap_or(UNKNOWN),
    };
    mime.to_owned()
}

/// The lowercase text after the last dot of `name`, when there is one.
fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 16).then(|| ext.to_ascii_lowercase())
}

/// Picture types [`sniff`] always recognizes, so a file named like one but not starting like
/// one is something else.
fn sniffable_image(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/bmp"
    )
}

/// The type the first bytes show, for formats with a signature that text rarely starts with.
fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, signature: &[u8]| head.get(offset..offset + signature.len()) == Some(signature);
    let mime = if at(0, b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if at(0, b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        "image/gif"
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        "image/webp"
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        "audio/wav"
    } else if at(0, b"RIFF") && at(8, b"AVI ") {
        "video/x-msvideo"
    } else if is_bmp(head) {
        "image/bmp"
    } else if at(0, b"%PDF-") {
        "application/pdf"
    } else if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") || at(0, b"PK\x07\x08") {
        "application/zip"
    } else if at(0, b"\x1F\x8B") {
        "application/gzip"
    } else if at(0, b"7z\xBC\xAF\x27\x1C") {
        "application/x-7z-compressed"
    } else if at(0, b"Rar!\x1A\x07") {
        "application/vnd.rar"
    } else if at(0, b"OggS") {
        "audio/ogg"
    } else if at(0, b"fLaC") {
        "audio/flac"
    } else if at(0, b"ID3") || at(0, b"\xFF\xFB") || at(0, b"\xFF\xF3") || at(0, b"\xFF\xF2") {
        "audio/mpeg"
    } else if at(4, b"ftyp") {
        iso_media(head.get(8..12)?)
    } else if at(0, b"\x1A\x45\xDF\xA3") {
        // Matroska and WebM share the EBML header; the DocType near its start tells them apart.
        if head.windows(4).take(64).any(|w| w == b"webm") {
            "video/webm"
        } else {
            "video/x-matroska"
        }
    } else {
        return None;
    };
    Some(mime)
}

/// A BMP file header followed by a known info header size: `BM` alone starts too much text.
fn is_bmp(head: &[u8]) -> bool {
    let Some(info_size) = head.get(14..18) else {
        return false;
    };
    let info_size = u32::from_le_bytes([info_size[0], info_size[1], info_size[2], info_size[3]]);
    head.starts_with(b"BM") && matches!(info_size, 12 | 40 | 52 | 56 | 64 | 108 | 124)
}

/// The type of an ISO base media file (MP4 and relatives) from its major brand.
fn iso_media(brand: &[u8]) -> &'static str {
    match brand {
        b"M4A " | b"M4B " => "audio/mp4",
        b"qt  " => "video/quicktime",
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => "image/heic",
        b"mif1" | b"msf1" => "image/heif",
        b"avif" | b"avis" => "image/avif",
        b"3gp4" | b"3gp5" | b"3gp6" | b"3g2a" => "video/3gpp",
        _ => "video/mp4",
    }
}

/// Whether `s` is a bare `type/subtype` fit to store and show: at most 127 bytes, one `/`,
/// both sides non-empty and made of letters, digits and `!#$&-^_.+` (RFC 6838's restricted
/// names), no parameters.
pub(crate) fn valid_mime(s: &str) -> bool {
    let is_name = |part: &str| {
        !part.is_empty()
            && part.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+')
            })
    };
    s.len() <= MAX_MIME_BYTES
        && s.split_once('/')
            .is_some_and(|(kind, sub)| is_name(kind) && is_name(sub))
}

/// Whether `mime` names a picture this app decodes (PNG, JPEG, GIF, WebP, BMP), so a thumbnail
/// or preview is worth trying.
pub(crate) fn is_image(mime: &str) -> bool {
    DECODABLE_IMAGES.iter().any(|known| known.eq_ignore_ascii_case(mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_content() {
        let cases: &[(&[u8], &str)] = &[
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", "image/jpeg"),
            (b"GIF89a\x01\0\x01\0", "image/gif"),
            (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
            (b"RIFF\x24\0\0\0WAVEfmt ", "audio/wav"),
            (b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0", "image/bmp"),
            (b"%PDF-1.7\n", "application/pdf"),
            (b"PK\x03\x04\x14\0", "application/zip"),
            (b"\x1F\x8B\x08\0", "application/gzip"),
            (b"7z\xBC\xAF\x27\x1C\0\x04", "application/x-7z-compressed"),
            (b"OggS\0\x02", "audio/ogg"),
            (b"fLaC\0\0\0\x22", "audio/flac"),
            (b"ID3\x04\0\0", "audio/mpeg"),
            (b"\xFF\xFB\x90\x64", "audio/mpeg"),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4"),
            (b"\0\0\0\x18ftypqt  \0\0\x02\0", "video/quicktime"),
            (b"\0\0\0\x18ftypheic\0\0\0\0", "image/heic"),
            (b"\0\0\0\x20ftypM4A \0\0\0\0", "audio/mp4"),
            (b"\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
            (
                b"\x1A\x45\xDF\xA3\xA3\x42\x86\x81\x01\x42\x82\x88matroska",
                "video/x-matroska",
            ),
        ];
        for &(head, mime) in cases {
            assert_eq!(guess_mime("unnamed", head), mime, "{head:?}");
        }
    }

    #[test]
    fn content_wins_over_the_name() {
        assert_eq!(guess_mime("photo.jpg", b"\x89PNG\r\n\x1a\n"), "image/png");
        assert_eq!(guess_mime("song.mp3", b"%PDF-1.4"), "application/pdf");
        // Named like a picture but starting like none: not a picture.
        assert_eq!(guess_mime("fake.png", b"hello"), "application/octet-stream");
        // Without content, the name is all there is.
        assert_eq!(guess_mime("photo.JPG", b""), "image/jpeg");
    }

    #[test]
    fn zip_based_formats_keep_their_name() {
        let zip = b"PK\x03\x04\x14\0\x06\0";
        assert_eq!(
            guess_mime("report.docx", zip),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(guess_mime("book.epub", zip), "application/epub+zip");
        assert_eq!(guess_mime("app.apk", zip), "application/vnd.android.package-archive");
        assert_eq!(guess_mime("archive.zip", zip), "application/zip");
        assert_eq!(guess_mime("renamed.pdf", zip), "application/zip");
        assert_eq!(guess_mime("renamed.png", zip), "application/zip");
        assert_eq!(guess_mime("noext", zip), "application/zip");
        assert_eq!(guess_mime("clip.ogv", b"OggS\0\x02"), "video/ogg");
    }

    #[test]
    fn falls_back_to_the_extension() {
        assert_eq!(guess_mime("notes.txt", b"hello"), "text/plain");
        assert_eq!(guess_mime("README.MD", b"# Title"), "text/markdown");
        assert_eq!(guess_mime("data.csv", b"a,b\n"), "text/csv");
        assert_eq!(guess_mime("page.html", b"<!doctype html>"), "text/html");
        assert_eq!(guess_mime("drawing.svg", b"<svg"), "image/svg+xml");
        assert_eq!(guess_mime("backup.tar", b"file\0\0\0"), "application/x-tar");
        assert_eq!(guess_mime("BMW notes.txt", b"BMW is a car maker"), "text/plain");
        assert_eq!(guess_mime("unknown.xyz", b"\0\x01\x02"), "application/octet-stream");
        assert_eq!(guess_mime("no extension", b""), "application/octet-stream");
        assert_eq!(guess_mime(".txt", b"x"), "application/octet-stream");
        assert_eq!(guess_mime("trailing.", b"x"), "application/octet-stream");
        assert_eq!(guess_mime("", b""), "application/octet-stream");
    }

    #[test]
    fn every_guess_is_valid() {
        for (ext, mime) in BY_EXTENSION {
            assert!(valid_mime(mime), "{mime}");
            assert_eq!(*ext, ext.to_ascii_lowercase());
        }
        for mime in DECODABLE_IMAGES.iter().chain(ZIP_BASED) {
            assert!(valid_mime(mime), "{mime}");
        }
        for brand in [&b"isom"[..], b"M4A ", b"qt  ", b"heic", b"mif1", b"avif", b"3gp4"] {
            assert!(valid_mime(iso_media(brand)));
        }
    }

    #[test]
    fn never_panics_on_short_or_odd_heads() {
        let head: Vec<u8> = b"\0\0\0\x20ftypisom\x1A\x45\xDF\xA3RIFFBM".to_vec();
        for end in 0..=head.len() {
            for start in 0..=end {
                let mime = guess_mime("x", &head[start..end]);
                assert!(valid_mime(&mime), "{mime}");
            }
        }
    }

    #[test]
    fn validates_mime_types() {
        for good in [
            "text/plain",
            "image/svg+xml",
            "application/vnd.ms-excel",
            "A/B",
            "x/y!#$&-^_.+",
        ] {
            assert!(valid_mime(good), "{good}");
        }
        let long = format!("application/{}", "x".repeat(MAX_MIME_BYTES - "application/".len()));
        assert!(valid_mime(&long));
        for bad in [
            "",
            "text",
            "/plain",
            "text/",
            "text/plain/x",
            "text/plain; charset=utf-8",
            "text/pl ain",
            "text/<script>",
            "tëxt/plain",
            "text/plain\n",
            "*/*",
            "text/plain*",
            &format!("{long}x"),
        ] {
            assert!(!valid_mime(bad), "{bad:?}");
        }
    }

    #[test]
    fn knows_which_images_it_decodes() {
        for yes in [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "image/bmp",
            "IMAGE/PNG",
            "image/jpg",
        ] {
            assert!(is_image(yes), "{yes}");
        }
        for no in [
            "image/svg+xml",
            "image/heic",
            "image/tiff",
            "image/avif",
            "application/pdf",
            "image/png; x=y",
            "",
        ] {
            assert!(!is_image(no), "{no}");
        }
    }
}
