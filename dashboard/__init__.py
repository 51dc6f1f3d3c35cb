"""The Streamlit dashboard: app.py declares pages; these modules serve them."""
