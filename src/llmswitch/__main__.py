from llmswitch.cli import main

main()
