"""coil stage package."""
