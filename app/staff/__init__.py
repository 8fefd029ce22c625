"""The staff citation desk: recent exchanges, a verbatim check of every citation, export."""
