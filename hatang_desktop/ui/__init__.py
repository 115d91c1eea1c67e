"""The desktop UI (Qt): a shell over hatang_desktop.core."""
