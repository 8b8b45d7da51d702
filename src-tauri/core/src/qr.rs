//! QR codes as SVG, for what people scan rather than read out: safety numbers, server invites.

/// `text` as an SVG QR code (empty if it does not fit one). The page shows it as an image, never
/// as markup.
pub(crate) fn svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(160, 160)
            .quiet_zone(true)
            .build(),
        Err(e) => {
            tracing::warn!(error = %e, "no QR code for this text");
            String::new()
        }
    }
}
