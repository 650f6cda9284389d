"""ephem: ephemeral, anonymous peer-to-peer chat."""
