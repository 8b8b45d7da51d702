//! Which of the sound server's sources the webview's label names. WebKitGTK lists the
//! microphones GStreamer's device monitor finds, labelled with each device's display name, which
//! for PulseAudio's devices is the source's description; it lists no monitors of outputs.

/// One of the sound server's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its name (`alsa_input.…`), what a recording is opened with.
    pub name: String,
    /// What a person sees: "Built-in Audio Analog Stereo".
    pub description: String,
    /// What an output plays, not a microphone.
    pub monitor: bool,
    /// An echo canceller's source (PulseAudio's `module-echo-cancel`, PipeWire's echo-cancel
    /// module): its sound has what the loudspeakers played taken out.
    pub echo_canceller: bool,
}

impl Source {
    /// Whether a source by this name and driver cancels echo: the sound servers' own
    /// echo-cancel modules name them so (`…echo-cancel…`, `module-echo-cancel.c`).
    pub fn is_echo_canceller(name: &str, driver: &str) -> bool {
        name.contains("echo-cancel") || driver.contains("echo-cancel")
    }
}

/// The source a webview's `label` names: the first microphone with that description (the
/// webview would show two alike the same way), else one with that name; none for an empty
/// label (WebKit's before permission) or one the server does not have (WebKit's mock devices).
pub fn pick<'a>(sources: &'a [Source], label: &str) -> Option<&'a Source> {
    let label = label.trim();
    if label.is_empty() {
        return None;
    }
    let mut microphones = sources.iter().filter(|s| !s.monitor);
    microphones
        .clone()
        .find(|s| s.description == label)
        .or_else(|| microphones.find(|s| s.name == label))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, description: &str, monitor: bool) -> Source {
        Source {
            name: name.into(),
            description: description.into(),
            monitor,
            echo_canceller: false,
        }
    }

    #[test]
    fn the_label_names_a_microphone_by_its_description_then_by_its_name() {
        let sources = [
            source(
                "alsa_output.pci.analog-stereo.monitor",
                "Monitor of Built-in Audio",
                true,
            ),
            source("alsa_input.pci.analog-stereo", "Built-in Audio Analog Stereo", false),
            source("alsa_input.usb-headset.mono", "USB Headset Mono", false),
            source("bluez_input.headset", "USB Headset Mono", false),
        ];
        let name = |label: &str| pick(&sources, label).map(|s| s.name.as_str());
        assert_eq!(
            name("Built-in Audio Analog Stereo"),
            Some("alsa_input.pci.analog-stereo")
        );
        assert_eq!(name(" USB Headset Mono "), Some("alsa_input.usb-headset.mono"));
        assert_eq!(name("bluez_input.headset"), Some("bluez_input.headset"));
        assert_eq!(
            name("Monitor of Built-in Audio"),
            None,
            "an output's monitor is no microphone"
        );
        assert_eq!(name("Mock audio device 1"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn echo_cancellers_are_known_by_their_name_or_driver() {
        assert!(Source::is_echo_canceller(
            "alsa_input.pci.echo-cancel",
            "module-echo-cancel.c"
        ));
        assert!(Source::is_echo_canceller("echo-cancel-source", "PipeWire"));
        assert!(Source::is_echo_canceller("my-mic", "module-echo-cancel.c"));
        assert!(!Source::is_echo_canceller(
            "alsa_input.pci.analog-stereo",
            "module-alsa-card.c"
        ));
    }
}
