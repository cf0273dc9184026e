"""A learner process that asks a question, waits until the tutor answers, then hangs.

The test SIGKILLs it mid-answer: no close, no goodbye, as when a laptop lid shuts.
"""

import asyncio
import sys

from evals.harness.speech_samples import synthesize
from evals.harness.webrtc_client import TutorClient


async def main(base_url: str, token: str) -> None:
    client = TutorClient(base_url, token)
    await client.connect()
    await client.say(synthesize("What is photosynthesis?"))
    await client.wait_event("speaking", 60, role="tutor", speaking=True)
    print("TUTOR-SPEAKING", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
