"""`python app.py`: build the default index from the bundled samples if absent, then serve UI + API."""

from onrecord.server import main

if __name__ == "__main__":
    main()
