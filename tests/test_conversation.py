"""The follow-up logic of the chat, alone."""

from onrecord.conversation import read_question


def test_a_follow_up_keeps_the_named_speaker_and_the_dates():
    first = read_question("What did Kirby say about the hostages?", ("John Kirby",), None, "2024-01-01", "", None)
    assert first.speaker is None and first.context["named"] == "John Kirby" and first.notes == ()
    follow = read_question("and what about Iran?", (), None, "", "", first.context)
    assert follow.speaker == "John Kirby" and follow.since == "2024-01-01" and follow.notes == ("Follow-up: still John Kirby",)
    fresh = read_question("What did NATO say about Article 5?", (), None, "", "", follow.context)
    assert fresh.speaker is None and fresh.since == "" and fresh.context["named"] is None


def test_a_chosen_speaker_wins_and_the_reading_says_so():
    r = read_question("What did Stoltenberg say about Article 5?", ("Jens Stoltenberg",), "John Kirby", "", "", None)
    assert r.speaker == "John Kirby"
    assert r.notes == ("The question names Jens Stoltenberg; the speaker filter (John Kirby) was used",)
    same = read_question("What did Kirby say?", ("John Kirby",), "John Kirby", "", "", None)
    assert same.notes == ()
