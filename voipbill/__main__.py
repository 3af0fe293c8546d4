from voipbill.cli import main

main()
