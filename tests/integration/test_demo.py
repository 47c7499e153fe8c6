"""The README's demo command, end to end (its own server, tiny models, a video in the output folder)."""

import av

from devtools import demo


def test_demo_writes_the_video_where_it_says(tmp_path, capsys):
    output = tmp_path / "output"
    code = demo.main(["--length", "9", "--width", "64", "--height", "112", "--output", str(output),
                      "--base", str(tmp_path / "base")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "TINY RANDOM WEIGHTS" in printed
    videos = sorted(output.glob("posegen/*.mp4"))
    assert len(videos) == 1 and f"video: {videos[0]}" in printed
    with av.open(str(videos[0])) as container:
        frames = [f for f in container.decode(video=0)]
    assert len(frames) == 9 and (frames[0].width, frames[0].height) == (64, 112)
