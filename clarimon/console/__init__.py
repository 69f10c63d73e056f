"""The read-only web console at `/console/`: server-rendered pages with inline SVG charts, a session cookie from
a key id and secret, and everything it needs shipped in the package (no CDN, no build step)."""
