"""Avatar: motion, wire protocol and the browser client (static page under web/)."""
